//! `clearshard status`: the venue as the chain holds it — per-shard load,
//! vaults and claims, open interest, fees, matchers' batch sequences and last
//! fill prices, and the conservation check. Tables for people, `--json` for
//! machines (the same figures).

use crate::settle::market_name;
use clearshard_client::presets::format_usdc;
use clearshard_client::rpc::Cluster;
use clearshard_client::snapshot::Snapshot;
use serde_json::{json, Value};

pub fn run(cluster: &Cluster, as_json: bool) -> Result<(), String> {
    let exchange = cluster.exchange()?;
    let snapshot = cluster.snapshot()?;
    let report = report(&snapshot, exchange.matcher_count);
    if as_json {
        let mut report = report;
        report["exchange"] = json!({
            "address": clearshard_client::pda::exchange().to_string(),
            "admin": exchange.admin.to_string(),
            "collateral_mint": exchange.collateral_mint.to_string(),
            "shard_count": exchange.shard_count,
            "market_count": exchange.market_count,
            "matcher_count": exchange.matcher_count,
            "treasury": exchange.treasury.to_string(),
            "pause_flags": exchange.pause_flags,
            // Flags lapse with their window: what is in force now, here and per shard.
            "pause_in_force": exchange.live_pause(snapshot.now),
            "shard_pauses_in_force": snapshot.shards.iter()
                .map(|shard| exchange.pause.live(shard.pause_flags, snapshot.now))
                .collect::<Vec<u8>>(),
            "pause_window_lapses_at": exchange.pause.started_at.saturating_add(clearshard::state::MAX_PAUSE_SECS),
        });
        println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
        return Ok(());
    }
    print_tables(&report, &exchange, &cluster.url);
    Ok(())
}

/// Every figure `status` shows, as JSON (the tables print from it too).
pub fn report(s: &Snapshot, matcher_count: u16) -> Value {
    let totals = s.totals();
    let shards: Vec<Value> = s
        .shards
        .iter()
        .zip(&s.vaults)
        .map(|(shard, vault)| {
            let accounts = s.margins.iter().filter(|(_, m)| m.shard == shard.index).count();
            let markets: Vec<Value> = s
                .markets
                .iter()
                .map(|m| {
                    let sm = &shard.markets[usize::from(m.id)];
                    json!({
                        "market": m.id,
                        "long_open_interest": sm.open_interest,
                        "short_open_interest": sm.short_open_interest,
                        "fees": sm.fees,
                        "fills": sm.fills,
                        "epoch_volume_lots": sm.funding.current.volume_lots,
                        "last_price": sm.last_price,
                    })
                })
                .collect();
            let sequences: Vec<Value> = shard.sequences[..usize::from(matcher_count)]
                .iter()
                .enumerate()
                .map(|(i, w)| json!({ "matcher": i, "next": w.next, "used_bits": w.used }))
                .collect();
            json!({
                "index": shard.index,
                "margin_accounts": shard.margin_accounts,
                "margin_accounts_found": accounts,
                "vault_tokens": vault,
                "collateral_claims": shard.collateral_claims,
                "insurance_owed": shard.insurance_owed,
                "insurance_debt": shard.insurance_debt,
                "pause_flags": shard.pause_flags,
                "markets": markets,
                "sequences": sequences,
            })
        })
        .collect();
    let markets: Vec<Value> = s
        .markets
        .iter()
        .map(|m| {
            let long: u64 = s.shards.iter().map(|sh| sh.markets[usize::from(m.id)].open_interest).sum();
            let fills: u64 = s.shards.iter().map(|sh| sh.markets[usize::from(m.id)].fills).sum();
            json!({
                "id": m.id,
                "name": market_name(m),
                "oracle": m.oracle.to_string(),
                "open_interest_lots": long,
                "fills": fills,
                "funding_index": m.funding.index_at(s.now).unwrap_or(m.funding.epoch_start_index),
                "funding_rate": m.funding.rate,
                "next_funding_rate": m.funding.next_rate,
                "cumulative_loss": m.cumulative_loss,
            })
        })
        .collect();
    json!({
        "shards": shards,
        "markets": markets,
        "margin_accounts": s.margins.len(),
        "insurance_vault_tokens": s.insurance_tokens,
        "conservation": {
            "vault_tokens": totals.vault_tokens.to_string(),
            "collateral": totals.collateral.to_string(),
            "unsettled_funding": totals.unsettled_funding.to_string(),
            "fees": totals.fees.to_string(),
            "insurance_owed": totals.insurance_owed.to_string(),
            "insurance_debt": totals.insurance_debt.to_string(),
            "holds": totals.conserved(),
        },
    })
}

fn print_tables(r: &Value, exchange: &clearshard::state::Exchange, url: &str) {
    println!(
        "exchange {} on {url}: {} shards, {} markets, {} matchers, {} margin accounts, insurance vault {} USDC",
        clearshard_client::pda::exchange(),
        exchange.shard_count,
        exchange.market_count,
        exchange.matcher_count,
        r["margin_accounts"],
        format_usdc(r["insurance_vault_tokens"].as_i64().unwrap_or(0).into())
    );
    let markets = r["markets"].as_array().cloned().unwrap_or_default();
    print!(
        "{:>5} {:>8} {:>14} {:>14} {:>10} {:>8}",
        "shard", "accounts", "vault USDC", "claims USDC", "fees USDC", "fills"
    );
    for m in &markets {
        print!(" {:>10} {:>10}", format!("{} OI", m["name"].as_str().unwrap_or("?")), "last/lot");
    }
    println!(" {:>10}", "sequences");
    for shard in r["shards"].as_array().into_iter().flatten() {
        let stats = shard["markets"].as_array().cloned().unwrap_or_default();
        let fees: i128 = stats.iter().map(|m| i128::from(m["fees"].as_i64().unwrap_or(0))).sum();
        let fills: u64 = stats.iter().map(|m| m["fills"].as_u64().unwrap_or(0)).sum();
        print!(
            "{:>5} {:>8} {:>14} {:>14} {:>10} {:>8}",
            shard["index"].to_string(),
            shard["margin_accounts"].to_string(),
            format_usdc(shard["vault_tokens"].as_i64().unwrap_or(0).into()),
            format_usdc(shard["collateral_claims"].as_i64().unwrap_or(0).into()),
            format_usdc(fees),
            fills
        );
        for m in &stats {
            let last = format_usdc(m["last_price"].as_i64().unwrap_or(0).into());
            print!(" {:>10} {:>10}", m["long_open_interest"].to_string(), last);
        }
        let sequences: Vec<String> =
            shard["sequences"].as_array().into_iter().flatten().map(|w| w["next"].to_string()).collect();
        println!(" {:>10}", sequences.join(","));
    }
    let c = &r["conservation"];
    println!(
        "conservation: vault tokens {} = collateral {} + unsettled funding {} + fees {} + insurance share {} - insurance debt {}: {}",
        c["vault_tokens"].as_str().unwrap_or("?"),
        c["collateral"].as_str().unwrap_or("?"),
        c["unsettled_funding"].as_str().unwrap_or("?"),
        c["fees"].as_str().unwrap_or("?"),
        c["insurance_owed"].as_str().unwrap_or("?"),
        c["insurance_debt"].as_str().unwrap_or("?"),
        if c["holds"].as_bool() == Some(true) { "holds" } else { "BROKEN" }
    );
}
