//! What the end-to-end suites share: a local validator (`clearshard-localnet`,
//! agave's solana-test-validator running the SBF program) with the demo
//! venue, started and stopped by each test, the `clearshard` binary run as
//! an operator or owner would, and checks of what the chain then holds.
//! Each test binary uses part of it.
#![allow(dead_code)]

use anchor_lang::prelude::Pubkey;
use clearshard_client::pda;
use clearshard_client::presets::*;
use clearshard_client::rpc::Cluster;
use solana_keypair::read_keypair_file;
use solana_signer::Signer;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One validator at a time: each uses most of a 2-core machine.
pub static SERIAL: Mutex<()> = Mutex::new(());

pub const SHARDS: u16 = 16;
pub const MAKERS: usize = 2;
pub const TRADERS: usize = 6;

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub struct Localnet {
    child: Child,
    pub dir: PathBuf,
    pub url: String,
}

impl Localnet {
    pub fn start(name: &str) -> Localnet {
        let binary = std::env::var_os("CLEARSHARD_LOCALNET")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace().join("localnet/target/debug/clearshard-localnet"));
        assert!(binary.exists(), "{} is missing: run `make localnet-build`", binary.display());
        let program = workspace().join("target/deploy/clearshard.so");
        assert!(program.exists(), "{} is missing: run `make sbf`", program.display());
        let dir = workspace().join("target/e2e").join(name);
        // A ready file left by an earlier run must not pass for this one's.
        let _ = std::fs::remove_dir_all(&dir);
        let port = free_port();
        let child = Command::new(binary)
            .arg("--cli")
            .arg(env!("CARGO_BIN_EXE_clearshard"))
            .arg("--program")
            .arg(program)
            .arg("--dir")
            .arg(&dir)
            .args(["--rpc-port", &port.to_string(), "--shards", &SHARDS.to_string()])
            .args(["--makers", &MAKERS.to_string(), "--traders", &TRADERS.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the localnet");
        let mut net = Localnet { child, dir, url: String::new() };
        let ready = net.dir.join("ready");
        let ready_in_time = wait_until(Duration::from_secs(240), || {
            if let Ok(Some(status)) = net.child.try_wait() {
                panic!("localnet exited before it was ready: {status}");
            }
            ready.exists()
        });
        assert!(ready_in_time, "localnet not ready after 240 s");
        net.url = std::fs::read_to_string(&ready).expect("ready file").trim().to_string();
        net
    }

    pub fn key(&self, name: &str) -> PathBuf {
        self.dir.join("keys").join(format!("{name}.json"))
    }

    pub fn cluster(&self) -> Cluster {
        Cluster::connect(&self.url, read_keypair_file(self.key("admin")).expect("admin key")).expect("connect")
    }

    pub fn command(&self, key: &str, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_clearshard"));
        command.arg("--url").arg(&self.url).arg("--keypair").arg(self.key(key)).args(args);
        command
    }

    pub fn run(&self, key: &str, args: &[&str]) -> Output {
        self.command(key, args).output().expect("run clearshard")
    }

    /// The margin account `name` holds on `shard` (sub id 0).
    pub fn account(&self, name: &str, shard: u16) -> Pubkey {
        let owner = read_keypair_file(self.key(name)).expect("key").pubkey();
        pda::margin_account(&owner, shard, 0)
    }

    pub fn trader(&self, i: usize) -> (Pubkey, u16) {
        let owner = read_keypair_file(self.key(&format!("trader-{i}"))).expect("key").pubkey();
        let shard = pda::home_shard(&owner, SHARDS);
        (pda::margin_account(&owner, shard, 0), shard)
    }
}

impl Drop for Localnet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `done` until it holds, for at most `deadline`; whether it held.
/// Every wait in these tests is on what the test then reads, never on a
/// fixed sleep.
pub fn wait_until(deadline: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !done() {
        if start.elapsed() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    true
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

pub fn assert_ok(out: &Output) {
    assert!(out.status.success(), "clearshard failed:\n{}", text(out));
}

pub fn fill_line(id: &str, market: u16, maker: &Pubkey, taker: &Pubkey, buy: bool, price: u32, lots: u32) -> String {
    let side = if buy { "buy" } else { "sell" };
    format!(
        r#"{{"id":"{id}","market":{market},"maker":"{maker}","taker":"{taker}","side":"{side}","price":{price},"quantity":{lots}}}"#
    )
}

/// Fills among every trader (takers, on their home shards) and both makers
/// (named by their shard-0 account: the fill settles on the taker's shard
/// against the maker's account there). Returns the file's lines and each
/// account's expected net position per market.
pub fn fills(net: &Localnet, count: usize) -> (Vec<String>, BTreeMap<(Pubkey, u16), i64>) {
    let mut lines = vec![];
    let mut expected: BTreeMap<(Pubkey, u16), i64> = BTreeMap::new();
    for i in 0..count {
        let (taker, shard) = net.trader(i % TRADERS);
        let maker_name = format!("maker-{}", (i / TRADERS) % MAKERS);
        let named_maker = net.account(&maker_name, 0);
        let settling_maker = net.account(&maker_name, shard);
        let market = if i % 3 == 0 { ETH } else { BTC };
        let ticks = if market == BTC { BTC_TICKS } else { ETH_TICKS } + (i as u32 % 7) * 10;
        let buy = i % 2 == 0;
        let lots = 1 + (i as u32 % 5);
        lines.push(fill_line(&format!("f-{i}"), market, &named_maker, &taker, buy, ticks, lots));
        let signed = if buy { i64::from(lots) } else { -i64::from(lots) };
        *expected.entry((taker, market)).or_default() += signed;
        *expected.entry((settling_maker, market)).or_default() -= signed;
    }
    (lines, expected)
}

pub fn write(net: &Localnet, name: &str, lines: &[String]) -> PathBuf {
    let path = net.dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").expect("write fills");
    path
}

/// Every account's position per market on chain equals `expected`, and
/// every other position is flat.
pub fn assert_positions(cluster: &Cluster, expected: &BTreeMap<(Pubkey, u16), i64>) {
    let mut on_chain: BTreeMap<(Pubkey, u16), i64> = BTreeMap::new();
    for (address, account) in cluster.margin_accounts(None).expect("margin accounts") {
        for p in account.portfolio.positions.iter().filter(|p| p.is_open()) {
            on_chain.insert((address, p.market_id), p.base_lots);
        }
    }
    let want: BTreeMap<_, _> = expected.iter().filter(|(_, v)| **v != 0).map(|(k, v)| (*k, *v)).collect();
    assert_eq!(on_chain, want, "positions on chain differ from the fills file");
}

pub fn assert_conserved(cluster: &Cluster) {
    let totals = cluster.snapshot().expect("snapshot").totals();
    assert!(totals.conserved(), "conservation broken: {totals:?}");
}

pub fn status_json(net: &Localnet) -> serde_json::Value {
    let out = net.run("admin", &["status", "--json"]);
    assert_ok(&out);
    serde_json::from_slice(&out.stdout).expect("status --json is JSON")
}
