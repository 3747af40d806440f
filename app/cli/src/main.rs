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
    /// table and write the results file.
    Bench {
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
        Command::Bench { engine, trace, out } => {
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
