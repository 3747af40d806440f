//! `clearshard`: the venue's command line.
//!
//! - `demo`: the whole flow on the in-process bank (solana-program-test with
//!   the program and the real SPL Token binary): shards, traders, market
//!   makers with liquidity shards, thousands of fills routed into batches,
//!   vault rebalancing, and the per-shard table with the conservation check.
//! - `bench`: the performance table (every instruction metered on the SBF
//!   program, the engine-only figures `make bench` writes, transaction
//!   packing) and `results.json`.
//! - Against any JSON-RPC endpoint (`--url`, `--keypair`, as Solana's CLI):
//!   `init` (exchange, shards, markets; `--venue` the demo venue),
//!   `settle` (a matcher's fills, exactly once), `liquidate` (a liquidator's
//!   loop), `status`, and the admin commands `set-price`, `register-matcher`,
//!   `revoke-matcher`.
//! - An owner's, signed by `--keypair`: `account create`, `account show`,
//!   `accounts --owner`, `deposit`, `withdraw`, `limits`, `trade` (one
//!   fill both owners sign, with no matcher), and `exit` (close what a
//!   wind-down lets close, withdraw everything).
//! - `verify`: the built program's sha256, and whether a cluster runs it.
//! - Anyone's: `wind-down` (a market no matcher serves); the admin's
//!   `delist` announces one a timelock ahead.

mod admin;
mod bench;
mod demo;
mod exit;
mod init;
mod liquidate;
mod owner;
mod settle;
mod settlement_pool;
mod status;
mod verify;

use clap::{Parser, Subcommand};
use clearshard_client::rpc::Cluster;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "clearshard", version, about = "Sharded clearing house for off-chain matched derivatives")]
struct Cli {
    /// JSON-RPC URL, or localhost, devnet, testnet, mainnet-beta.
    #[arg(long, short = 'u', global = true, default_value = "localhost")]
    url: String,
    /// The signer's keypair file (the matcher for `settle`, the liquidator
    /// for `liquidate`, the admin for `init` and the admin commands).
    #[arg(long, short = 'k', global = true)]
    keypair: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the program id (what `make localnet` deploys the binary at).
    ProgramId,
    /// The sha256 of the built program; with --deployed, whether the cluster
    /// at --url runs exactly these bytes (and who may upgrade them).
    Verify {
        #[arg(long, default_value = "target/deploy/clearshard.so")]
        so: PathBuf,
        #[arg(long)]
        deployed: bool,
        /// The program's address (default: clearshard's id).
        #[arg(long)]
        program_id: Option<String>,
    },
    #[command(flatten)]
    Rpc(RpcCommand),
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
enum RpcCommand {
    /// Create the exchange, shards and markets (each skipped if present).
    Init {
        #[arg(long, default_value_t = 16)]
        shards: u16,
        /// An existing collateral mint (default: a new one, the admin its authority).
        #[arg(long)]
        mint: Option<String>,
        /// Also set up the demo venue from the keypairs in this folder
        /// (matcher, maker-N, trader-N, liquidator), as `make localnet` does.
        #[arg(long)]
        venue: Option<PathBuf>,
    },
    /// Settle a matcher's fills (JSON Lines), each exactly once; resumable.
    Settle {
        /// The fills file, or - for standard input.
        #[arg(long)]
        fills: PathBuf,
        /// The run's journal (default: FILE.journal; required for stdin).
        #[arg(long)]
        journal: Option<PathBuf>,
        /// Report a refused fill and go on with the rest.
        #[arg(long)]
        skip_refused: bool,
        /// Micro-lamports per compute unit, or auto (recent fees on the shards).
        #[arg(long, default_value = "auto")]
        priority_fee: settle::PriorityFee,
        /// Fewer fills per batch than the transaction limits allow.
        #[arg(long)]
        max_fills: Option<usize>,
    },
    /// Liquidate every account under maintenance margin; resolve bankruptcies.
    Liquidate {
        /// Keep watching (every --interval seconds) instead of one pass.
        #[arg(long)]
        watch: bool,
        #[arg(long, default_value_t = 2)]
        interval: u64,
    },
    /// Shards, vaults, claims, open interest, fees, sequences, last prices.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Admin: publish a built-in feed's price (price × 10^expo USD).
    SetPrice {
        #[arg(long)]
        market: String,
        #[arg(long)]
        price: i64,
        #[arg(long, default_value_t = -2, allow_hyphen_values = true)]
        expo: i32,
        #[arg(long, default_value_t = 0)]
        confidence: u64,
    },
    /// Admin: register a matcher authority.
    RegisterMatcher { authority: String },
    /// Admin: revoke a matcher at once (its batches are refused from now on).
    RevokeMatcher { authority: String },
    /// Admin: announce a market's delisting; once the timelock has run,
    /// `wind-down` completes it in one call.
    Delist {
        #[arg(long)]
        market: String,
    },
    /// Anyone: wind a market down once no matcher has settled it on any
    /// shard for its liveness timeout (two calls a timeout apart), once its
    /// delisting is due, or once an owner's exit went unserved for it.
    WindDown {
        #[arg(long)]
        market: String,
        /// After arming, wait out the timeout and complete it.
        #[arg(long)]
        wait: bool,
        /// A margin account that asked to exit a liveness timeout ago and
        /// still holds its only position in the market: it arms the
        /// wind-down, and completes it a timeout later if still unserved.
        #[arg(long)]
        unserved_exit: Option<String>,
    },
    /// Owner: close every position in wound-down markets at the settlement
    /// price, withdraw everything, and print what came back.
    Exit,
    /// Owner: ask to be closed out on every margin account of the signer
    /// (fills may then only reduce them, within the exit band), or
    /// withdraw the request with `--cancel`.
    RequestExit {
        #[arg(long)]
        cancel: bool,
    },
    /// Owner: create or show your margin accounts.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Every margin account of an owner (default: the signer): address,
    /// shard, collateral, positions, limits, health.
    Accounts {
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Owner: deposit tokens (`12.5`) from your wallet into your margin account.
    Deposit {
        #[command(flatten)]
        slot: SlotArgs,
        #[arg(long)]
        amount: String,
    },
    /// Owner: withdraw tokens, or `all` from an account without positions.
    Withdraw {
        #[command(flatten)]
        slot: SlotArgs,
        #[arg(long)]
        amount: String,
    },
    /// Owner: what any matcher, and your own trades, may do on your account.
    Limits {
        #[command(flatten)]
        slot: SlotArgs,
        #[command(flatten)]
        limits: owner::LimitsArgs,
    },
    /// Owner: one fill with another owner, both signing, no matcher
    /// (`settle_owner_trade`); the signer is the taker.
    Trade {
        #[arg(long)]
        market: String,
        /// buy or sell (the taker's side).
        #[arg(long)]
        side: Side,
        #[arg(long)]
        lots: u32,
        /// Price in ticks per lot.
        #[arg(long)]
        price: u32,
        #[command(flatten)]
        slot: SlotArgs,
        /// The maker owner's keypair file (it signs too).
        #[arg(long)]
        maker_keypair: PathBuf,
        #[arg(long)]
        maker_shard: u16,
        #[arg(long, default_value_t = 0)]
        maker_sub_id: u16,
        /// The signed trade lapses this many seconds after it is built.
        #[arg(long, default_value_t = 60)]
        expires_in_secs: i64,
    },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create your margin account on a shard.
    Create {
        #[command(flatten)]
        slot: SlotArgs,
    },
    /// One margin account by address (default: all of the signer's).
    Show {
        address: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// Which of the signer's margin accounts: its shard and sub id.
#[derive(clap::Args)]
struct SlotArgs {
    #[arg(long)]
    shard: u16,
    #[arg(long, default_value_t = 0)]
    sub_id: u16,
}

impl SlotArgs {
    fn slot(&self) -> owner::Slot {
        owner::Slot { shard: self.shard, sub_id: self.sub_id }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Side {
    Buy,
    Sell,
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
    let cli = Cli::parse();
    let result = match cli.command {
        Command::ProgramId => {
            println!("{}", clearshard::ID);
            Ok(())
        }
        Command::Verify { so, deployed, program_id } => {
            let url = rpc_url(&cli.url);
            program_id.as_deref().map_or(Ok(clearshard::ID), admin::address).and_then(|program_id| {
                verify::run(&verify::VerifyArgs { so: &so, deployed: deployed.then_some(url.as_str()), program_id })
            })
        }
        Command::Rpc(command) => rpc(&cli.url, cli.keypair.as_deref(), command),
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

/// The URL Solana's CLI means by each moniker.
fn rpc_url(url: &str) -> String {
    match url {
        "localhost" | "l" => "http://127.0.0.1:8899",
        "devnet" | "d" => "https://api.devnet.solana.com",
        "testnet" | "t" => "https://api.testnet.solana.com",
        "mainnet-beta" | "m" => "https://api.mainnet-beta.solana.com",
        other => other,
    }
    .to_string()
}

fn rpc(url: &str, keypair: Option<&std::path::Path>, command: RpcCommand) -> Result<(), String> {
    let path = match keypair {
        Some(path) => path.to_path_buf(),
        None => PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".config/solana/id.json"),
    };
    let payer = solana_keypair::read_keypair_file(&path).map_err(|e| format!("keypair {}: {e}", path.display()))?;
    let cluster = Cluster::connect(&rpc_url(url), payer)?;
    match command {
        RpcCommand::Init { shards, mint, venue } => {
            let mint = mint.map(|m| admin::address(&m)).transpose()?;
            init::run(&cluster, &init::InitArgs { shards, mint, venue: venue.as_deref() })
        }
        RpcCommand::Settle { fills, journal, skip_refused, priority_fee, max_fills } => {
            settle::run(&cluster, &settle::SettleArgs { fills, journal, skip_refused, priority_fee, max_fills })
        }
        RpcCommand::Liquidate { watch, interval } => {
            liquidate::run(&cluster, &liquidate::LiquidateArgs { watch, interval: Duration::from_secs(interval) })
        }
        RpcCommand::Status { json } => status::run(&cluster, json),
        RpcCommand::SetPrice { market, price, expo, confidence } => {
            admin::set_price(&cluster, &market, price, expo, confidence)
        }
        RpcCommand::RegisterMatcher { authority } => admin::register_matcher(&cluster, &admin::address(&authority)?),
        RpcCommand::RevokeMatcher { authority } => admin::revoke_matcher(&cluster, &admin::address(&authority)?),
        RpcCommand::Delist { market } => admin::delist(&cluster, &market),
        RpcCommand::WindDown { market, wait, unserved_exit } => {
            exit::wind_down(&cluster, &market, wait, unserved_exit.as_deref().map(admin::address).transpose()?)
        }
        RpcCommand::Exit => exit::exit(&cluster),
        RpcCommand::RequestExit { cancel } => exit::request_exit(&cluster, !cancel),
        RpcCommand::Account { command: AccountCommand::Create { slot } } => {
            owner::create_account(&cluster, slot.slot())
        }
        RpcCommand::Account { command: AccountCommand::Show { address, json } } => {
            owner::show(&cluster, None, address.as_deref().map(admin::address).transpose()?, json)
        }
        RpcCommand::Accounts { owner, json } => {
            owner::show(&cluster, owner.as_deref().map(admin::address).transpose()?, None, json)
        }
        RpcCommand::Deposit { slot, amount } => owner::deposit(&cluster, slot.slot(), &amount),
        RpcCommand::Withdraw { slot, amount } => owner::withdraw(&cluster, slot.slot(), &amount).map(|_| ()),
        RpcCommand::Limits { slot, limits } => owner::limits(&cluster, slot.slot(), &limits),
        RpcCommand::Trade {
            market,
            side,
            lots,
            price,
            slot,
            maker_keypair,
            maker_shard,
            maker_sub_id,
            expires_in_secs,
        } => {
            let maker = solana_keypair::read_keypair_file(&maker_keypair)
                .map_err(|e| format!("keypair {}: {e}", maker_keypair.display()))?;
            let args = owner::TradeArgs {
                market,
                buy: matches!(side, Side::Buy),
                lots,
                price_ticks: price,
                taker: slot.slot(),
                maker,
                maker_slot: owner::Slot { shard: maker_shard, sub_id: maker_sub_id },
                expires_in_secs,
            };
            owner::trade(&cluster, &args)
        }
    }
}
