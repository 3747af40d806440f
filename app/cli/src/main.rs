//! `clearshard`: the venue's command line.
//!
//! - `demo`: the whole flow on the in-process bank (solana-program-test with
//!   the program and the real SPL Token binary): shards, traders, market
//!   makers with liquidity shards, thousands of fills routed into batches,
//!   vault rebalancing, and the per-shard table with the conservation check.
//! - `bench`: the performance table (reads the SBF engine figures written by
//!   `make bench`, measures transaction packing) and `results.json`.

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
    },
    /// Print the performance table and write the results file.
    Bench {
        /// Engine compute units measured on SBF (written by the LiteSVM runner).
        #[arg(long)]
        engine: PathBuf,
        #[arg(long, default_value = "target/bench/results.json")]
        out: PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Demo { shards, traders, fills, seed } => {
            demo::run(demo::DemoConfig { shards, traders, fills, seed }).await
        }
        Command::Bench { engine, out } => bench::run(&engine, &out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
