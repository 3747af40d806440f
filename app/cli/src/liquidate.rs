//! `clearshard liquidate [--watch]`: a liquidator's loop over JSON-RPC.
//!
//! Each pass reads every margin account (`getProgramAccounts` filtered by
//! type), the markets and their feeds, and computes health off-chain with the
//! engine — the program's own math. An account under maintenance margin is
//! liquidated market by market, each time for exactly the lots the program
//! allows (`liquidatable_lots`); the liquidator takes them on its account on
//! the same shard when it has one there; its positions in wound-down
//! markets are closed at their settlement prices first. An account left without positions
//! and with negative collateral is bankrupt: the insurance fund covers it
//! (`resolve_bankruptcy`), and what the fund cannot cover is spread over the
//! market's open interest (`socialize_loss`). Every action is reported.

use crate::settle::market_name;
use clearshard::state::{MarginAccount, Market};
use clearshard_client::instructions::{self as ix, LiquidationAccounts};
use clearshard_client::presets::format_usdc;
use clearshard_client::rpc::Cluster;
use clearshard_engine::liquidation::{bankruptcy_deficit, liquidatable_lots};
use clearshard_engine::RiskMarket;
use solana_signer::Signer;
use std::io::Write;
use std::time::Duration;

pub struct LiquidateArgs {
    pub watch: bool,
    pub interval: Duration,
}

#[derive(Default)]
struct Pass {
    liquidations: usize,
    bankruptcies: usize,
    unhealthy_left: usize,
}

pub fn run(cluster: &Cluster, args: &LiquidateArgs) -> Result<(), String> {
    let me = cluster.payer.pubkey();
    loop {
        let pass = pass(cluster)?;
        if pass.liquidations + pass.bankruptcies > 0 || !args.watch {
            report(format!(
                "pass: {} liquidation(s), {} bankruptcy(ies) resolved, {} account(s) still under maintenance margin",
                pass.liquidations, pass.bankruptcies, pass.unhealthy_left
            ));
        }
        if !args.watch {
            return if pass.unhealthy_left == 0 {
                Ok(())
            } else {
                Err(format!("{} account(s) left unhealthy by liquidator {me}", pass.unhealthy_left))
            };
        }
        std::thread::sleep(args.interval);
    }
}

fn pass(cluster: &Cluster) -> Result<Pass, String> {
    let me = cluster.payer.pubkey();
    let exchange = cluster.exchange()?;
    let markets = cluster.markets(exchange.market_count)?;
    let risk = cluster.risk_markets(exchange.quote_decimals, &markets)?;
    let accounts = cluster.margin_accounts(None)?;
    let mine: Vec<(anchor_lang::prelude::Pubkey, u16)> =
        accounts.iter().filter(|(_, m)| m.owner == me).map(|(a, m)| (*a, m.shard)).collect();
    let Some(first) = mine.first().copied() else {
        return Err(format!("liquidator {me} has no margin account: create one and deposit collateral first"));
    };
    let all_markets: Vec<u16> = markets.iter().map(|m| m.id).collect();
    let mut pass = Pass::default();
    let wound_down: Vec<u16> = markets.iter().filter(|m| m.is_wound_down()).map(|m| m.id).collect();
    for (address, account) in accounts.iter().filter(|(_, m)| m.owner != me) {
        let mut account = *account;
        let liqor = mine.iter().find(|(_, shard)| *shard == account.shard).copied().unwrap_or(first);
        let live: Vec<u16> = held(&account).into_iter().filter(|m| !wound_down.contains(m)).collect();
        let settled: Vec<u16> = held(&account).into_iter().filter(|m| wound_down.contains(m)).collect();
        if !settled.is_empty() && live.iter().any(|m| liquidatable_lots(&account.portfolio, &risk, *m).is_ok()) {
            // No account is liquidated while it holds a wound-down market's
            // position (`SettlementClosePending`): anyone closes it, free.
            let closes: Vec<_> = settled.iter().map(|m| ix::close_at_settlement(*address, account.shard, *m)).collect();
            cluster.send(&closes, &[]).map_err(|e| format!("close_at_settlement {address}: {e}"))?;
            account = reload(cluster, address)?;
            report(format!("closed {address}'s positions in wound-down markets first, at their settlement prices"));
        }
        for market in live {
            let Ok(lots) = liquidatable_lots(&account.portfolio, &risk, market) else { continue };
            if lots == 0 {
                continue;
            }
            let before = maintenance(&account, &risk);
            let accounts = LiquidationAccounts { liquidator: me, liqee: (*address, account.shard), liqor };
            cluster
                .send(&[ix::liquidate(&accounts, market, lots, &all_markets)], &[])
                .map_err(|e| format!("liquidate {address} {}: {e}", name(&markets, market)))?;
            account = reload(cluster, address)?;
            pass.liquidations += 1;
            report(format!(
                "liquidated {lots} {} lots of {address} (shard {}) onto {}: maintenance health {} -> {} USDC",
                name(&markets, market),
                account.shard,
                liqor.0,
                format_usdc(before),
                format_usdc(maintenance(&account, &risk))
            ));
        }
        if let Ok(deficit) = bankruptcy_deficit(&account.portfolio) {
            cluster
                .send(&[ix::resolve_bankruptcy(*address, account.shard)], &[])
                .map_err(|e| format!("resolve_bankruptcy {address}: {e}"))?;
            account = reload(cluster, address)?;
            let left = account.portfolio.collateral.min(0).unsigned_abs();
            report(format!(
                "bankrupt {address} (shard {}): insurance fund covered {} of {} USDC",
                account.shard,
                format_usdc(i128::from(deficit - left)),
                format_usdc(i128::from(deficit))
            ));
            if left > 0 {
                let arose: Vec<u16> = account.portfolio.loss_markets().map(|(m, _)| m).collect();
                cluster
                    .send(&[ix::socialize_loss(*address, account.shard, &arose, exchange.shard_count)], &[])
                    .map_err(|e| format!("socialize_loss {address}: {e}"))?;
                let names: Vec<String> = arose.iter().map(|m| name(&markets, *m)).collect();
                report(format!(
                    "  {} USDC, less the fund's shares on other shards, spread over the open interest of {} (where it arose)",
                    format_usdc(i128::from(left)),
                    names.join(", ")
                ));
            }
            pass.bankruptcies += 1;
        }
        if maintenance(&account, &risk) < 0 && account.portfolio.has_open_positions() {
            pass.unhealthy_left += 1;
        }
    }
    Ok(pass)
}

/// One line of the report, flushed at once: a watcher runs until it is
/// stopped, and whoever reads its output sees each action as it happens.
fn report(line: String) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

fn held(account: &MarginAccount) -> Vec<u16> {
    account.portfolio.positions.iter().filter(|p| p.is_open()).map(|p| p.market_id).collect()
}

fn maintenance(account: &MarginAccount, risk: &[RiskMarket]) -> i128 {
    account.portfolio.health(risk).map_or(i128::MIN, |h| h.maintenance)
}

fn reload(cluster: &Cluster, address: &anchor_lang::prelude::Pubkey) -> Result<MarginAccount, String> {
    cluster.load::<MarginAccount>(address)?.ok_or_else(|| format!("{address} vanished"))
}

fn name(markets: &[Market], id: u16) -> String {
    markets.iter().find(|m| m.id == id).map_or(format!("market {id}"), market_name)
}
