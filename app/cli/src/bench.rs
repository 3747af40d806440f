//! The performance table: engine compute units measured on SBF (LiteSVM),
//! and transaction packing measured on real serialized v0 transactions.

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

pub fn run(engine: &Path, out: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(engine).map_err(|e| format!("{}: {e} (run `make bench`)", engine.display()))?;
    let mut results: Map<String, Value> = serde_json::from_str(&text).map_err(|e| e.to_string())?;
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

    println!("| figure | value | how |");
    println!("|---|---|---|");
    for size in [1, 8, 32, 64] {
        if let Some(v) = results.get(&format!("engine_cu_per_fill_b{size}")) {
            println!("| engine CU per fill, batch of {size} | {v} | SBF harness in LiteSVM |");
        }
    }
    if let Some(v) = results.get("liquidate_cu") {
        println!("| liquidate, engine CU | {v} | SBF harness in LiteSVM |");
    }
    println!("| fills per tx (16 accounts, 1 market) | {fills_16} ({tx_len} of {MAX_TX_BYTES} bytes) | v0 + lookup table, serialized |");
    println!("| fills per tx (every fill a new taker) | {fills_distinct} | limited by 64 account locks |");
    println!("| fills per tx (2 accounts) | {fills_two} | byte bound of the 11-byte fill |");
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    let json = serde_json::to_string_pretty(&Value::Object(results)).map_err(|e| e.to_string())?;
    std::fs::write(out, json).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("\nwrote {}", out.display());
    Ok(())
}
