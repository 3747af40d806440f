//! `socialize_loss`: no loss is socialized while any part of the insurance
//! fund holds anything (round two's finding 5), and it fits one transaction at
//! the largest venue the program accepts (finding 6). Conservation is checked
//! after every step.

use clearshard::errors::ClearshardError;
use clearshard::state::{Market, MAX_MARKETS, MAX_SHARDS};
use clearshard_client::packing::table_transaction;
use clearshard_client::{instructions as ix, pda};
use clearshard_engine::liquidation::socialized_loss_per_lot;
use clearshard_tests::*;
use solana_signer::Signer;

/// Σ long and short open interest of `market` over every shard.
async fn open_lots(v: &mut Venue, market: u16) -> u64 {
    let mut lots = 0;
    for s in 0..v.ex.shard_count {
        let oi = v.ex.shard(s).await.open_interest(market);
        lots += oi.long + oi.short;
    }
    lots
}

/// A long on shard 1 liquidated after an 8% fall leaves the fund a share of
/// its fee in shard 1's vault; a long on shard 0 then goes bankrupt. The
/// review saw the deficit socialized with that share untouched.
#[tokio::test]
async fn the_funds_share_in_every_shard_is_used_before_any_loss_is_socialized() {
    let mut v = Venue::new(2).await;
    let on_one = v.leveraged_long(1, 70 * USDC).await.0;
    let reckless = v.leveraged_long(0, 61 * USDC).await.0;
    let liqor = v.account(1, 50_000 * USDC).await;
    v.set_btc(92).await;
    v.liquidate_allowed(&liqor, &on_one, BTC, &[BTC]).await;
    v.set_btc(80).await;
    v.liquidate_allowed(&liqor, &reckless, BTC, &[BTC]).await;
    let deficit = v.ex.margin(reckless.address).await.portfolio.collateral.unsigned_abs();
    let (own, other) = (v.ex.shard(0).await.insurance_owed, v.ex.shard(1).await.insurance_owed);
    assert!(other > 0 && deficit > own + other, "deficit {deficit}, shares {own} + {other}");
    assert_eq!(v.ex.token_balance(pda::insurance_vault()).await, 0);

    // A read-only shard cannot give up the fund's share: refused.
    let mut read_only = ix::socialize_loss(reckless.address, 0, &[BTC], 2);
    let last = read_only.accounts.len() - 1;
    read_only.accounts[last].is_writable = false;
    assert_anchor_error(v.ex.send(&[read_only], &[]).await, anchor_lang::error::ErrorCode::AccountNotMutable);

    let lots = open_lots(&mut v, BTC).await;
    v.ex.send(&[ix::socialize_loss(reckless.address, 0, &[BTC], 2)], &[]).await.unwrap();
    let t = v.ex.assert_conserved().await;
    // Both shares went to the deficit; only the rest is spread over the open lots.
    assert_eq!((v.ex.shard(0).await.insurance_owed, v.ex.shard(1).await.insurance_owed), (0, 0));
    let (per_lot, _) = socialized_loss_per_lot(deficit - own - other, lots).unwrap();
    assert_eq!(v.ex.load::<Market>(pda::market(BTC)).await.cumulative_loss, per_lot);
    assert_eq!(v.ex.margin(reckless.address).await.portfolio.collateral, 0);
    assert_eq!(t.unsettled_funding, -(per_lot as i128) * i128::from(lots));
    // Shard 1's vault holds the share that now backs shard 0's claims: rebalancing brings it over.
    assert!(v.ex.vault_surplus(1).await >= other as i64);
    let vault_0 = v.ex.token_balance(pda::vault(0)).await;
    v.ex.send(&[ix::rebalance_vaults(1, 0, &[BTC])], &[]).await.unwrap();
    v.ex.assert_conserved().await;
    assert!(v.ex.token_balance(pda::vault(0)).await >= vault_0 + other);
}

/// A deficit the shares cover in full socializes nothing at all.
#[tokio::test]
async fn a_deficit_within_the_funds_shares_moves_no_index() {
    let mut v = Venue::new(2).await;
    let liqor = v.account(1, 200_000 * USDC).await;
    v.set_btc(100).await;
    for _ in 0..12 {
        let on_one = v.leveraged_long(1, 70 * USDC).await.0;
        v.set_btc(92).await;
        v.liquidate_allowed(&liqor, &on_one, BTC, &[BTC]).await;
        v.set_btc(100).await;
    }
    let reckless = v.leveraged_long(0, 61 * USDC).await.0;
    v.set_btc(88).await;
    v.liquidate_allowed(&liqor, &reckless, BTC, &[BTC]).await;
    let deficit = v.ex.margin(reckless.address).await.portfolio.collateral.unsigned_abs();
    let (own, other) = (v.ex.shard(0).await.insurance_owed, v.ex.shard(1).await.insurance_owed);
    assert!(deficit > own && deficit < own + other, "deficit {deficit}, shares {own} + {other}");
    v.ex.send(&[ix::socialize_loss(reckless.address, 0, &[BTC], 2)], &[]).await.unwrap();
    v.ex.assert_conserved().await;
    assert_eq!(v.ex.load::<Market>(pda::market(BTC)).await.cumulative_loss, 0);
    assert_eq!(v.ex.shard(1).await.insurance_owed, own + other - deficit);
    assert_eq!(v.ex.margin(reckless.address).await.portfolio.collateral, 0);
}

/// The largest `socialize_loss` the program can be asked for — a loss that
/// arose in every market, over the most shards — names exactly the 64
/// accounts a transaction may lock (payer and program included).
#[test]
fn the_largest_socialize_loss_names_at_most_64_accounts() {
    let markets: Vec<u16> = (0..MAX_MARKETS).collect();
    let ix = ix::socialize_loss(pda::margin_account(&pda::exchange(), 0, 0), 0, &markets, MAX_SHARDS);
    let payer = anchor_lang::prelude::Pubkey::new_unique();
    let message = solana_message::Message::new(&[ix], Some(&payer));
    assert_eq!(message.account_keys.len(), 64);
}

/// The largest venue the program accepts: `MAX_SHARDS` shards, and
/// `socialize_loss` over all of them in one transaction (through a lookup
/// table, as a client sends it; with no compute-budget instruction, whose
/// program would be a 65th account). One more shard is refused.
#[tokio::test]
async fn socialize_loss_fits_one_transaction_at_the_most_shards_accepted() {
    let mut v = Venue::new(MAX_SHARDS).await;
    let extra = ix::add_shard(v.ex.admin.pubkey(), v.ex.mint, MAX_SHARDS);
    assert_error(v.ex.send_admin(&[extra]).await, ClearshardError::TooManyShards);
    let reckless = v.leveraged_long(MAX_SHARDS - 1, 61 * USDC).await.0;
    let liqor = v.account(0, 50_000 * USDC).await;
    v.set_btc(80).await;
    v.liquidate_allowed(&liqor, &reckless, BTC, &[BTC]).await;
    let lots = open_lots(&mut v, BTC).await;
    let deficit = v.ex.margin(reckless.address).await.portfolio.collateral.unsigned_abs();
    let own = v.ex.shard(MAX_SHARDS - 1).await.insurance_owed;

    let socialize = ix::socialize_loss(reckless.address, MAX_SHARDS - 1, &[BTC], MAX_SHARDS);
    let keys: Vec<_> = socialize.accounts.iter().map(|a| a.pubkey).collect();
    let table = v.ex.create_lookup_table(&keys).await;
    let blockhash = v.ex.blockhash().await;
    let tx = table_transaction(&v.matcher, &[socialize], &table, blockhash).unwrap();
    v.ex.send_versioned(tx).await.unwrap();
    v.ex.assert_conserved().await;
    let (per_lot, _) = socialized_loss_per_lot(deficit - own, lots).unwrap();
    assert_eq!(v.ex.load::<Market>(pda::market(BTC)).await.cumulative_loss, per_lot);
    assert_eq!(v.ex.margin(reckless.address).await.portfolio.collateral, 0);
}
