//! Leaving without a matcher, over JSON-RPC: `request-exit` (an owner asks
//! to be closed out), `wind-down` (anyone: arms the wind-down of a market
//! that is silent, or holds an exit that went unserved, then completes it a
//! liveness timeout later) and `exit` (an owner: closes every position
//! in wound-down markets at the settlement price, has its gains there paid,
//! withdraws everything, and reports what it got back).

use crate::owner::Venue;
use crate::settle::market_name;
use crate::settlement_pool::{make_final, send_over_shards};
use anchor_lang::prelude::Pubkey;
use clearshard::state::{MarginAccount, Market};
use clearshard_client::instructions as ix;
use clearshard_client::pda;
use clearshard_client::presets::format_usdc;
use clearshard_client::rpc::Cluster;
use clearshard_engine::Position;
use std::time::Duration;

/// One `wind_down_market` call on `market`, on its silence or on the
/// account `unserved_exit` whose exit went unserved; with `wait`, an arming
/// is followed, once due, by the call that completes it.
pub fn wind_down(cluster: &Cluster, market: &str, wait: bool, unserved_exit: Option<Pubkey>) -> Result<(), String> {
    let venue = Venue::read(cluster)?;
    let market = *venue.market(market)?;
    let name = market_name(&market);
    if market.is_wound_down() {
        return Err(format!(
            "{name} was wound down at {} (settlement price {} per lot): `clearshard exit` closes its positions",
            market.wound_down_at,
            format_usdc(market.settlement_price.into())
        ));
    }
    let shards: Vec<u16> = (0..venue.exchange.shard_count).collect();
    let call = ix::wind_down_market(market.id, market.oracle, &shards, unserved_exit);
    let send = || -> Result<Market, String> {
        send_over_shards(cluster, &call, venue.exchange.shard_count)
            .map_err(|e| format!("wind_down_market {name}: {e}"))?;
        cluster.load::<Market>(&pda::market(market.id))?.ok_or_else(|| format!("market {name} vanished"))
    };
    let after = send()?;
    if after.is_wound_down() {
        return report_wound_down(&name, &after);
    }
    let timeout = after.liveness_timeout_secs();
    let due = after.wind_down_armed_at.saturating_add(timeout);
    let unless = match unserved_exit {
        Some(account) => format!("if {account}'s exit is still unserved and no settlement pause came"),
        None => format!("if no matcher settles {name} meanwhile"),
    };
    println!(
        "{name}: wind-down armed at {}; a call from {due} until {} completes it, {unless}",
        after.wind_down_armed_at,
        due.saturating_add(timeout)
    );
    if !wait {
        return Ok(());
    }
    loop {
        let now = cluster.unix_timestamp()?;
        if now >= due {
            break;
        }
        std::thread::sleep(Duration::from_secs(now.abs_diff(due).clamp(1, 5)));
    }
    let after = send()?;
    if after.is_wound_down() {
        return report_wound_down(&name, &after);
    }
    Err(format!(
        "{name}: armed afresh at {} (a matcher settled it, or a pause ended, since the first call)",
        after.wind_down_armed_at
    ))
}

fn report_wound_down(name: &str, market: &Market) -> Result<(), String> {
    println!(
        "{name}: wound down at {}; every position closes at {} per lot (`clearshard exit`)",
        market.wound_down_at,
        format_usdc(market.settlement_price.into())
    );
    Ok(())
}

/// Asks to be closed out (`requested`) on every margin account of the
/// signer, or withdraws the request, and prints by when each market must
/// have closed each position.
pub fn request_exit(cluster: &Cluster, requested: bool) -> Result<(), String> {
    let venue = Venue::read(cluster)?;
    let owner = venue.owner();
    let accounts = cluster.margin_accounts(Some(&owner))?;
    if accounts.is_empty() {
        return Err(format!("{owner} has no margin accounts"));
    }
    for (address, account) in accounts {
        if account.portfolio.is_exiting() == requested {
            let state = if requested { "has asked to exit" } else { "has no exit request" };
            println!("{address}: {state} already");
            continue;
        }
        let call = ix::request_exit(owner, address, requested);
        cluster.send(&[call], &[]).map_err(|e| format!("request_exit on {address}: {e}"))?;
        if !requested {
            println!("{address}: exit request withdrawn; its limits apply again");
            continue;
        }
        let at = load(cluster, &address)?.portfolio.exit_requested_at;
        println!("{address}: exit requested at {at}; fills may only reduce it, within the exit band of the oracle");
        for p in account.portfolio.positions.iter().filter(|p| p.base_lots != 0) {
            let Some(market) = venue.markets.iter().find(|m| m.id == p.market_id) else { continue };
            let due = at.saturating_add(market.liveness_timeout_secs());
            let name = market_name(market);
            println!(
                "  {name}: {} lots to close by {due}, else `clearshard wind-down --market {name} --unserved-exit {address}`",
                p.base_lots
            );
        }
    }
    Ok(())
}

/// Closes every position of the signer's margin accounts in wound-down
/// markets, has each gain held there paid (making the market final first if
/// anyone can: `settlement_pool::make_final`), then withdraws the whole
/// collateral of every account left without positions, refilling its
/// shard's vault first if claims moved elsewhere. Fails, after doing all it can, if an account still holds a
/// position in a live market or is under water.
pub fn exit(cluster: &Cluster) -> Result<(), String> {
    let venue = Venue::read(cluster)?;
    let owner = venue.owner();
    let accounts = cluster.margin_accounts(Some(&owner))?;
    if accounts.is_empty() {
        return Err(format!("{owner} has no margin accounts"));
    }
    let mut withdrawn = 0u64;
    let mut kept = vec![];
    for (address, _) in accounts {
        // Read afresh: making a market final closes every position left in
        // it, this owner's other accounts' too.
        let account = load(cluster, &address)?;
        let shard = account.shard;
        let open: Vec<_> = account.portfolio.positions.iter().filter(|p| p.base_lots != 0).copied().collect();
        let market_of = |id: u16| venue.markets.iter().find(|m| m.id == id);
        let (closable, live): (Vec<&Position>, Vec<&Position>) =
            open.iter().partition(|p| market_of(p.market_id).is_some_and(Market::is_wound_down));
        if !closable.is_empty() {
            let closes: Vec<_> =
                closable.iter().map(|p| ix::close_at_settlement(address, shard, p.market_id)).collect();
            cluster.send(&closes, &[]).map_err(|e| format!("close_at_settlement on {address}: {e}"))?;
            for p in &closable {
                let market = market_of(p.market_id).ok_or("market vanished")?;
                println!(
                    "{address}: closed {} lots of {} at {} per lot",
                    p.base_lots,
                    market_name(market),
                    format_usdc(market.settlement_price.into())
                );
            }
        }
        if !live.is_empty() {
            let names: Vec<String> =
                live.iter().map(|p| market_of(p.market_id).map(market_name).unwrap_or_default()).collect();
            kept.push(format!(
                "{address} (shard {shard}) holds {} in live markets: close with a matcher or `clearshard trade`",
                names.join(", ")
            ));
            continue;
        }
        for market in venue.markets.iter().filter(|m| m.is_wound_down()) {
            let held = load(cluster, &address)?.portfolio;
            if held.settlement_gain(market.id) == 0 && held.settlement_recovery(market.id) == 0 {
                continue;
            }
            let state = cluster.load::<Market>(&pda::market(market.id))?.ok_or("market vanished")?;
            if let Err(e) = if state.is_final() { Ok(()) } else { make_final(cluster, &venue, &state) } {
                kept.push(format!("{address}'s gain in {} waits until the market is final: {e}", market_name(market)));
                continue;
            }
            let call = ix::claim_settlement_gain(address, shard, market.id);
            cluster.send(&[call], &[]).map_err(|e| format!("claim_settlement_gain on {address}: {e}"))?;
            println!("{address}: paid its claim on {}'s pool", market_name(market));
        }
        let collateral = load(cluster, &address)?.portfolio.collateral;
        if collateral < 0 {
            kept.push(format!(
                "{address} is under water by {}: nothing to withdraw (`clearshard liquidate` resolves it)",
                format_usdc((-i128::from(collateral)).max(0))
            ));
            continue;
        }
        let Ok(amount @ 1..) = u64::try_from(collateral) else { continue };
        refill_vault(cluster, &venue, shard, amount)?;
        let take = ix::withdraw(&venue.movement(address, shard), amount, &[]);
        cluster.send(&[venue.create_wallet(), take], &[]).map_err(|e| format!("withdraw from {address}: {e}"))?;
        withdrawn = withdrawn.saturating_add(amount);
        println!("{address}: withdrew {}", format_usdc(amount.into()));
    }
    let wallet = venue.wallet();
    let holds = cluster.token_balance(&wallet).unwrap_or(0);
    println!("got back {}; wallet {wallet} holds {}", format_usdc(withdrawn.into()), format_usdc(holds.into()));
    if !kept.is_empty() {
        return Err(format!("{} account(s) not emptied:\n  {}", kept.len(), kept.join("\n  ")));
    }
    Ok(())
}

fn load(cluster: &Cluster, address: &Pubkey) -> Result<MarginAccount, String> {
    cluster.load::<MarginAccount>(address)?.ok_or_else(|| format!("{address} is no margin account"))
}

/// Brings shard `shard`'s vault up to `amount` from the vaults holding more
/// than their shard's reserve (`rebalance_vaults`, permissionless), the
/// largest surplus first.
fn refill_vault(cluster: &Cluster, venue: &Venue, shard: u16, amount: u64) -> Result<(), String> {
    let all: Vec<u16> = venue.markets.iter().map(|m| m.id).collect();
    for _ in 0..venue.exchange.shard_count {
        if cluster.token_balance(&pda::vault(shard))? >= amount {
            return Ok(());
        }
        let risk = cluster.risk_markets(venue.exchange.quote_decimals, &venue.markets)?;
        let shards = cluster.shards(venue.exchange.shard_count)?;
        let vaults: Vec<Pubkey> = (0..venue.exchange.shard_count).map(pda::vault).collect();
        let balances = cluster.token_balances(&vaults)?;
        let mut best: Option<(i128, u16)> = None;
        for (s, (state, balance)) in shards.iter().zip(balances).enumerate() {
            let reserve = state.reserve(&risk).map_err(|e| format!("shard {s}'s reserve: {e}"))?;
            let surplus = i128::from(balance) - i128::from(reserve);
            let s = u16::try_from(s).map_err(|e| e.to_string())?;
            if s != shard && surplus > 0 && best.is_none_or(|(b, _)| surplus > b) {
                best = Some((surplus, s));
            }
        }
        let Some((_, from)) = best else {
            return Err(format!(
                "shard {shard}'s vault holds less than {} and no vault holds more than its reserve",
                format_usdc(amount.into())
            ));
        };
        cluster
            .send(&[ix::rebalance_vaults(from, shard, &all)], &[])
            .map_err(|e| format!("rebalance_vaults {from} → {shard}: {e}"))?;
    }
    if cluster.token_balance(&pda::vault(shard))? >= amount {
        return Ok(());
    }
    Err(format!("shard {shard}'s vault could not be refilled to {}", format_usdc(amount.into())))
}
