//! The performance table: compute units of every instruction metered on the
//! SBF program, the engine alone on SBF (LiteSVM), and transaction packing
//! measured on real serialized v0 transactions. Writes `results.json`.

mod program;
pub mod sim;

use clearshard_client::packing::{BatchShape, MAX_TX_BYTES};
use serde_json::{Map, Value};
use std::path::Path;

/// Most fills one settle_batch transaction carries for a shape.
fn max_fills(markets: usize, accounts: impl Fn(usize) -> usize) -> usize {
    (1..1_000)
        .take_while(|f| BatchShape { shards: 1, markets, margin_accounts: accounts(*f), fills: *f }.fits())
        .last()
        .unwrap_or(0)
}

pub struct BenchConfig<'a> {
    /// Engine-only figures written by the LiteSVM runner, if measured.
    pub engine: Option<&'a Path>,
    /// The `cu-trace` build of the program, for the split.
    pub trace: Option<&'a Path>,
    pub out: &'a Path,
}

fn row(label: &str, value: Option<&Value>, how: &str) {
    if let Some(v) = value {
        println!("| {label} | {v} | {how} |");
    }
}

pub async fn run(cfg: BenchConfig<'_>) -> Result<(), String> {
    let mut results = match cfg.engine {
        Some(engine) => {
            let text = std::fs::read_to_string(engine).map_err(|e| format!("{}: {e}", engine.display()))?;
            serde_json::from_str(&text).map_err(|e| e.to_string())?
        }
        None => Map::new(),
    };
    results.extend(program::measure().await?);
    if let Some(trace) = cfg.trace {
        results.insert("program_split".into(), program::measure_split(trace).await?.into());
    }
    // A maker against 15 takers who each trade several times: the byte limit binds.
    let fills_16 = max_fills(1, |_| 16);
    // Every fill a new taker: the 64-lock limit binds.
    let fills_distinct = max_fills(1, |f| f + 1);
    let fills_two = max_fills(1, |_| 2);
    results.insert("max_fills_per_tx".into(), fills_16.into());
    results.insert("fills_per_tx_distinct_takers".into(), fills_distinct.into());
    results.insert("fills_per_tx_two_accounts".into(), fills_two.into());
    results.insert("fill_bytes".into(), clearshard_engine::FILL_LEN.into());
    let tx_len = BatchShape { shards: 1, markets: 1, margin_accounts: 16, fills: fills_16 }.tx_len();
    results.insert("max_fills_tx_bytes".into(), tx_len.into());

    let sbf = "SBF program, solana-program-test 3.1";
    println!("| figure | value | how |");
    println!("|---|---|---|");
    let max = results.get("program_max_batch_fills").cloned().unwrap_or_default();
    for size in program::BATCH_SIZES.iter().map(|s| s.to_string()).chain(["max".to_string()]) {
        let label = if size == "max" {
            format!("settle_batch all-in CU per fill, batch of {max} (largest)")
        } else {
            format!("settle_batch all-in CU per fill, batch of {size}")
        };
        row(&label, results.get(&format!("program_cu_per_fill_b{size}")), sbf);
    }
    row("settle_cross_batch all-in CU per fill, batch of 32", results.get("program_cross_cu_per_fill_b32"), sbf);
    row("settle_owner_trade, one fill across shards, all-in CU", results.get("program_settle_owner_trade_cu"), sbf);
    row("liquidate, all-in CU", results.get("program_liquidate_cu"), sbf);
    row("deposit, all-in CU (token CPI inside)", results.get("program_deposit_cu"), sbf);
    row("  of which the SPL Token transfer", results.get("program_deposit_token_cpi_cu"), sbf);
    row("withdraw, all-in CU (no positions)", results.get("program_withdraw_cu"), sbf);
    row("transfer_collateral, same shard", results.get("program_transfer_same_shard_cu"), sbf);
    row("transfer_collateral, across shards (tokens follow)", results.get("program_transfer_cross_shard_cu"), sbf);
    row("update_funding, 8 shards in one transaction", results.get("program_update_funding_cu_8_shards"), sbf);
    row(
        "update_funding, a round over the most shards accepted (pages of 14)",
        results.get("program_update_funding_cu_max_shards"),
        sbf,
    );
    if let Some(Value::Object(split)) = results.get("program_split") {
        for (instruction, phases) in split {
            if let Value::Object(phases) = phases {
                for (phase, units) in phases {
                    row(&format!("  {instruction}: {phase}"), Some(units), "cu-trace checkpoints");
                }
            }
        }
    }
    for size in program::BATCH_SIZES {
        row(
            &format!("engine alone, CU per fill, batch of {size}"),
            results.get(&format!("engine_cu_per_fill_b{size}")),
            "SBF harness in LiteSVM",
        );
    }
    row("engine alone, liquidate CU", results.get("liquidate_cu"), "SBF harness in LiteSVM");
    println!("| fills per tx (16 accounts, 1 market) | {fills_16} ({tx_len} of {MAX_TX_BYTES} bytes) | v0 + lookup table, serialized |");
    println!("| fills per tx (every fill a new taker) | {fills_distinct} | limited by 64 account locks |");
    println!("| fills per tx (2 accounts) | {fills_two} | byte bound of the 11-byte fill |");
    if let Some(parent) = cfg.out.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    let json = serde_json::to_string_pretty(&Value::Object(results)).map_err(|e| e.to_string())?;
    std::fs::write(cfg.out, json).map_err(|e| format!("{}: {e}", cfg.out.display()))?;
    println!("\nwrote {}", cfg.out.display());
    Ok(())
}
