//! `clearshard`: the venue's command line.
//!
//! - `demo`: the whole flow on the in-process bank (solana-program-test with
//!   the program and the real SPL Token binary): shards, traders, market
//!   makers with liquidity shards, thousands of fills routed into batches,
//!   vault rebalancing, and the per-shard table with the conservation check.
//! - `bench`: the performance table (every instruction metered on the SBF
//!   program, the engine-only figures `make bench` writes, transaction
//!   packing) and `results.json`.

mod bench;
mod demo;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "clearshard", version, about = "Sharded clearing house for off-chain matched derivatives")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole venue in-process and print the per-shard table.
    Demo {
        #[arg(long, default_value_t = 8)]
        shards: u16,
        #[arg(long, default_value_t = 100)]
        traders: usize,
        #[arg(long, default_value_t = 3_000)]
        fills: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Run the program through its native entrypoint (a debugging aid)
        /// instead of the SBF binary `make sbf` builds.
        #[arg(long)]
        native: bool,
    },
    /// Meter every instruction on the SBF program, print the performance
    /// table and write the results file; `bench sim` runs the capacity simulator.
    Bench {
        #[command(subcommand)]
        sim: Option<BenchCommand>,
        /// Engine-only compute units measured on SBF (written by the LiteSVM runner).
        #[arg(long)]
        engine: Option<PathBuf>,
        /// Folder of the `cu-trace` build of the program, for the split of units.
        #[arg(long)]
        trace: Option<PathBuf>,
        #[arg(long, default_value = "target/bench/results.json")]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Capacity: every design on the same flow under Solana's block limits;
    /// writes sim.json and SVG plots beside it.
    Sim {
        /// The measured compute units (`make bench` writes them first).
        #[arg(long, default_value = "target/bench/results.json")]
        results: PathBuf,
        #[arg(long, default_value = "target/bench/sim.json")]
        out: PathBuf,
        /// Slot time in ms (400; 200 selectable).
        #[arg(long, default_value_t = 400.0)]
        slot_ms: f64,
        /// Block compute limit (100M; 60M and 48M selectable).
        #[arg(long, default_value_t = 100_000_000)]
        block_cu: u64,
        /// Per-writable-account limit (40% of the block; 12M selectable).
        #[arg(long, default_value_t = 40_000_000)]
        account_cu: u64,
        #[arg(long, default_value_t = 4)]
        threads: usize,
        /// Share of each block other programs' traffic takes.
        #[arg(long, default_value_t = 0.5)]
        other_traffic: f64,
        /// From a block landing to the matcher seeing it, in ms.
        #[arg(long, default_value_t = 400.0)]
        confirm_ms: f64,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    // The bank logs every instruction at debug level; the tables are the output.
    if std::env::var_os("RUST_LOG").is_none() {
        std::env::set_var("RUST_LOG", "error");
    }
    let result = match Cli::parse().command {
        Command::Demo { shards, traders, fills, seed, native } => {
            std::env::set_var("CLEARSHARD_PROGRAM", if native { "native" } else { "sbf" });
            demo::run(demo::DemoConfig { shards, traders, fills, seed }).await
        }
        Command::Bench {
            sim:
                Some(BenchCommand::Sim { results, out, slot_ms, block_cu, account_cu, threads, other_traffic, confirm_ms }),
            ..
        } => {
            let chain = clearshard_client::sim::ChainConfig {
                slot_ms,
                block_cu,
                account_cu,
                threads,
                other_traffic_share: other_traffic,
                confirm_ms,
                ..Default::default()
            };
            bench::sim::run(&chain, &results, &out)
        }
        Command::Bench { sim: None, engine, trace, out } => {
            std::env::set_var("CLEARSHARD_PROGRAM", "sbf");
            bench::run(bench::BenchConfig { engine: engine.as_deref(), trace: trace.as_deref(), out: &out }).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
