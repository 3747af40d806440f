//! `make localnet`: a real local validator (agave 3.1's solana-test-validator)
//! serving JSON-RPC on 127.0.0.1, with clearshard's SBF program, SPL Token and
//! the associated-token program loaded, and a ready venue set up through the
//! `clearshard` CLI (`clearshard init --venue`), so that setup is the same
//! code an operator runs against any cluster. Runs until stopped.

use clap::Parser;
use solana_account::AccountSharedData;
use solana_keypair::{write_keypair_file, Keypair};
use solana_pubkey::Pubkey;
use solana_signer::Signer;
use solana_test_validator::{TestValidatorGenesis, UpgradeableProgramInfo};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

#[derive(Parser)]
#[command(about = "A local validator with clearshard's SBF program and a ready venue")]
struct Args {
    /// The program binary (`make sbf`).
    #[arg(long, default_value = "target/deploy/clearshard.so")]
    program: PathBuf,
    /// The `clearshard` CLI, which reads the program id and sets up the venue.
    #[arg(long, default_value = "target/debug/clearshard")]
    cli: PathBuf,
    /// Where the ledger and the keypair files go (wiped at every start).
    #[arg(long, default_value = "target/localnet")]
    dir: PathBuf,
    #[arg(long, default_value_t = 8899)]
    rpc_port: u16,
    #[arg(long, default_value_t = 16)]
    shards: u16,
    /// Demo makers (one liquidity account on every shard) and traders.
    #[arg(long, default_value_t = 4)]
    makers: usize,
    #[arg(long, default_value_t = 8)]
    traders: usize,
}

/// Ports the validator's services take besides RPC.
const PORT_RANGE_WIDTH: u16 = 64;
/// SOL each demo key gets at genesis: fees, rent and margin accounts for a long session.
const DEMO_LAMPORTS: u64 = 1_000 * 1_000_000_000;

fn main() -> Result<(), String> {
    let args = Args::parse();
    let program_id = program_id(&args.cli)?;
    if !args.program.exists() {
        return Err(format!("{} is missing: run `make sbf`", args.program.display()));
    }
    let _ = std::fs::remove_dir_all(&args.dir);
    let keys_dir = args.dir.join("keys");
    std::fs::create_dir_all(&keys_dir).map_err(|e| format!("{}: {e}", keys_dir.display()))?;

    let mut names = vec!["admin".to_string(), "matcher".to_string(), "liquidator".to_string()];
    names.extend((0..args.makers).map(|i| format!("maker-{i}")));
    names.extend((0..args.traders).map(|i| format!("trader-{i}")));
    let mut genesis = TestValidatorGenesis::default();
    let mut admin = Pubkey::default();
    for name in &names {
        let key = Keypair::new();
        let path = keys_dir.join(format!("{name}.json"));
        write_keypair_file(&key, &path).map_err(|e| format!("{}: {e}", path.display()))?;
        if name == "admin" {
            admin = key.pubkey();
        }
        genesis
            .add_account(key.pubkey(), AccountSharedData::new(DEMO_LAMPORTS, 0, &solana_sdk_ids::system_program::ID));
    }
    // Gossip, TPU and repair ports next to the RPC port (the websocket takes
    // RPC + 1): two localnets on different RPC ports do not collide.
    let ports = if args.rpc_port < 65_535 - 100 { args.rpc_port + 10 } else { args.rpc_port - 100 };
    genesis
        .ledger_path(args.dir.join("ledger"))
        .rpc_port(args.rpc_port)
        .gossip_port(ports)
        .port_range((ports, ports + PORT_RANGE_WIDTH))
        .add_upgradeable_programs_with_path(&[UpgradeableProgramInfo {
            program_id,
            loader: solana_sdk_ids::bpf_loader_upgradeable::ID,
            upgrade_authority: admin,
            program_path: args.program.clone(),
        }]);
    // Waits until the program is deployed and fees are live.
    let (validator, _faucet) = genesis.start();
    let url = validator.rpc_url();

    let key = |name: &str| keys_dir.join(format!("{name}.json"));
    let status = Command::new(&args.cli)
        .arg("--url")
        .arg(&url)
        .arg("--keypair")
        .arg(key("admin"))
        .args(["init", "--shards", &args.shards.to_string(), "--venue"])
        .arg(&keys_dir)
        .status()
        .map_err(|e| format!("{}: {e}", args.cli.display()))?;
    if !status.success() {
        return Err(format!("clearshard init failed ({status})"));
    }

    println!("clearshard localnet is up");
    println!("  RPC URL   {url}");
    println!("  program   {program_id} ({})", args.program.display());
    println!("  ledger    {}", args.dir.join("ledger").display());
    for name in &names {
        println!("  keypair   {:<11} {}", name, key(name).display());
    }
    println!("Try: clearshard --url {url} status");
    // Tests and scripts wait for this file: the venue is ready when it exists.
    write_ready(&args.dir, &url)?;
    println!("ready (Ctrl-C to stop)");
    validator.join();
    Ok(())
}

fn program_id(cli: &Path) -> Result<Pubkey, String> {
    let out = Command::new(cli)
        .arg("program-id")
        .output()
        .map_err(|e| format!("{}: {e} (build it with `cargo build -p clearshard-cli`)", cli.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    Pubkey::from_str(text.trim()).map_err(|e| format!("`clearshard program-id` printed {text:?}: {e}"))
}

fn write_ready(dir: &Path, url: &str) -> Result<(), String> {
    let path = dir.join("ready");
    std::fs::write(&path, format!("{url}\n")).map_err(|e| format!("{}: {e}", path.display()))
}
