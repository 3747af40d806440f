//! A wound-down market's settlement pool over JSON-RPC: what `exit` does so
//! that a held gain is paid. Anyone may make the market final: close every
//! position left there, cover each bankrupt account (`socialize_loss`: the
//! fund, then the pools and the lots where its loss arose), clear the loss
//! records of accounts restored since, and call
//! `finalize_wind_down` over every shard. Every step is permissionless and
//! its outcome fixed by the state, so it does not matter who runs it.

use crate::owner::Venue;
use crate::settle::market_name;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use clearshard::state::{MarginAccount, Market};
use clearshard_client::instructions as ix;
use clearshard_client::packing::table_transaction;
use clearshard_client::pda;
use clearshard_client::presets::format_usdc;
use clearshard_client::rpc::Cluster;
use clearshard_engine::liquidation::bankruptcy_deficit;

/// Above this many shards a call naming every shard goes through a lookup
/// table: 24 shards and the fixed accounts fit a legacy transaction.
pub const SHARDS_WITHOUT_TABLE: u16 = 24;

/// Closes per transaction: each names an account and its shard.
const CLOSES_PER_TRANSACTION: usize = 8;

/// Sends `call`, which names every shard, through a lookup table once the
/// shards would not fit a legacy transaction.
pub fn send_over_shards(cluster: &Cluster, call: &Instruction, shard_count: u16) -> Result<(), String> {
    if shard_count <= SHARDS_WITHOUT_TABLE {
        return cluster.send(std::slice::from_ref(call), &[]).map(|_| ()).map_err(|e| e.to_string());
    }
    let shards: Vec<Pubkey> = (0..shard_count).map(pda::shard).collect();
    let table = cluster.create_lookup_table(&shards)?;
    let tx = table_transaction(&cluster.payer, std::slice::from_ref(call), &table, cluster.blockhash()?)?;
    cluster.send_and_confirm(&tx).map(|_| ()).map_err(|e| e.to_string())
}

/// Makes wound-down `market` final if it is not yet, doing every step
/// anyone may; says which step could not be done.
pub fn make_final(cluster: &Cluster, venue: &Venue, market: &Market) -> Result<(), String> {
    let (id, name) = (market.id, market_name(market));
    let accounts = cluster.margin_accounts(None)?;
    let open: Vec<&(Pubkey, MarginAccount)> =
        accounts.iter().filter(|(_, a)| a.portfolio.position(id).is_some()).collect();
    for chunk in open.chunks(CLOSES_PER_TRANSACTION) {
        let closes: Vec<Instruction> = chunk.iter().map(|(a, m)| ix::close_at_settlement(*a, m.shard, id)).collect();
        cluster.send(&closes, &[]).map_err(|e| format!("close_at_settlement in {name}: {e}"))?;
    }
    if !open.is_empty() {
        println!("{name}: closed the {} positions left at the settlement price", open.len());
    }
    for (address, account) in cluster.margin_accounts(None)? {
        if account.portfolio.liquidation_losses.get(usize::from(id)).is_some_and(|l| *l > 0) {
            resolve(cluster, venue, address, &account)?;
        }
    }
    let shards: Vec<u16> = (0..venue.exchange.shard_count).collect();
    let call = ix::finalize_wind_down(id, &shards);
    send_over_shards(cluster, &call, venue.exchange.shard_count)
        .map_err(|e| format!("finalize_wind_down {name}: {e}"))?;
    let after = cluster.load::<Market>(&pda::market(id))?.ok_or("market vanished")?;
    println!(
        "{name}: final; the gains are paid {} of {} held, the deficits {} of {}",
        format_usdc(after.payout_pool.into()),
        format_usdc(after.payout_faces.into()),
        format_usdc(after.recovery_pool.into()),
        format_usdc(after.recovery_faces.into())
    );
    Ok(())
}

/// Settles a loss record: the account's positions in wound-down markets
/// close first (no record is forgotten while one is open); then a bankrupt
/// account is covered (what arose in a wound-down market is registered
/// against its pool), and an account restored since has its record cleared.
fn resolve(cluster: &Cluster, venue: &Venue, address: Pubkey, account: &MarginAccount) -> Result<(), String> {
    let markets = cluster.markets(venue.exchange.market_count)?;
    let settled: Vec<Instruction> = (account.portfolio.positions.iter().filter(|q| q.is_open()))
        .filter(|q| markets.iter().any(|m| m.id == q.market_id && m.is_wound_down()))
        .map(|q| ix::close_at_settlement(address, account.shard, q.market_id))
        .collect();
    let account = &if settled.is_empty() {
        *account
    } else {
        cluster.send(&settled, &[]).map_err(|e| format!("close_at_settlement {address}: {e}"))?;
        cluster.load::<MarginAccount>(&address)?.ok_or("margin account vanished")?
    };
    let (shard, p) = (account.shard, &account.portfolio);
    if p.loss_markets().next().is_none() {
        return Ok(());
    }
    if let Ok(deficit) = bankruptcy_deficit(p) {
        let arose: Vec<u16> = p.loss_markets().map(|(m, _)| m).collect();
        let call = ix::socialize_loss(address, shard, &arose, venue.exchange.shard_count);
        cluster.send(&[call], &[]).map_err(|e| format!("socialize_loss {address}: {e}"))?;
        println!("{address}: bankrupt by {}, covered", format_usdc(deficit.into()));
        return Ok(());
    }
    let held: Vec<u16> = p.positions.iter().filter(|q| q.is_open()).map(|q| q.market_id).collect();
    let call = ix::clear_loss_record(address, shard, &held);
    cluster.send(&[call], &[]).map_err(|e| format!("clear_loss_record {address} (still under water?): {e}"))?;
    Ok(())
}
