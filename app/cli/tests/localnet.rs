//! End to end over JSON-RPC: a real local validator started and stopped by
//! each test (`common::Localnet`), and the `clearshard` binary as an operator
//! runs it. Chain state is read back over RPC and checked against the input.
//!
//! Needs `target/deploy/clearshard.so` (`make sbf`) and the localnet binary
//! (`make localnet-build`; `CLEARSHARD_LOCALNET` names another one).

mod common;

use anchor_lang::prelude::Pubkey;
use clearshard::state::MarginAccount;
use clearshard_client::presets::*;
use clearshard_client::rpc::Cluster;
use common::*;
use sha2::Digest;
use solana_keypair::read_keypair_file;
use solana_signer::Signer;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

/// A long-running `clearshard` command whose stdout is collected line by
/// line as it is printed.
struct Reported {
    child: Child,
    lines: std::sync::Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Reported {
    fn new(mut child: Child) -> Reported {
        use std::io::BufRead;
        let stdout = child.stdout.take().expect("stdout piped");
        let lines = std::sync::Arc::new(Mutex::new(String::new()));
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                let mut all = sink.lock().unwrap_or_else(|e| e.into_inner());
                all.push_str(&line);
                all.push('\n');
            }
        });
        Reported { child, lines, reader: Some(reader) }
    }

    fn report(&self) -> String {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn require_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("exited early ({status}):\n{}", self.report());
        }
    }

    /// Kills the command and returns everything it printed.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.report()
    }
}

#[test]
fn settle_on_several_shards_then_status_matches_chain() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let net = Localnet::start("settle");
    let cluster = net.cluster();
    assert_conserved(&cluster);
    let (lines, expected) = fills(&net, 60);
    let path = write(&net, "fills.jsonl", &lines);
    let out = net.run("matcher", &["settle", "--fills", path.to_str().unwrap(), "--priority-fee", "10"]);
    assert_ok(&out);
    assert!(text(&out).contains("settled 60 fill(s)"), "{}", text(&out));
    assert_positions(&cluster, &expected);
    assert_conserved(&cluster);
    let shards_used: std::collections::BTreeSet<u16> = (0..TRADERS).map(|i| net.trader(i).1).collect();
    assert!(shards_used.len() >= 3, "the traders' home shards: {shards_used:?}");

    // A rerun of the same file settles nothing again.
    let again = net.run("matcher", &["settle", "--fills", path.to_str().unwrap()]);
    assert_ok(&again);
    assert!(text(&again).contains("settled 0 fill(s)"), "{}", text(&again));
    assert_positions(&cluster, &expected);

    // status --json against the chain, figure by figure.
    let status = status_json(&net);
    let snapshot = cluster.snapshot().expect("snapshot");
    let exchange = cluster.exchange().expect("exchange");
    assert_eq!(status["exchange"]["shard_count"], SHARDS);
    assert_eq!(status["margin_accounts"], snapshot.margins.len());
    assert_eq!(status["conservation"]["holds"], true);
    assert_eq!(status["insurance_vault_tokens"], snapshot.insurance_tokens);
    let matcher =
        cluster.matcher(&read_keypair_file(net.key("matcher")).unwrap().pubkey()).unwrap().expect("matcher registered");
    for (i, shard) in snapshot.shards.iter().enumerate() {
        let s = &status["shards"][i];
        assert_eq!(s["index"], shard.index);
        assert_eq!(s["vault_tokens"], snapshot.vaults[i]);
        assert_eq!(s["collateral_claims"], shard.collateral_claims);
        assert_eq!(s["margin_accounts"], shard.margin_accounts);
        let window = shard.sequences[usize::from(matcher.index)];
        assert_eq!(s["sequences"][usize::from(matcher.index)]["next"], window.next);
        assert_eq!(window.next > 0, shards_used.contains(&shard.index), "shard {i} sequences");
        for m in 0..usize::from(exchange.market_count) {
            assert_eq!(s["markets"][m]["long_open_interest"], shard.markets[m].open_interest);
            assert_eq!(s["markets"][m]["last_price"], shard.markets[m].last_price);
            assert_eq!(s["markets"][m]["fees"], shard.markets[m].fees);
        }
    }
    assert_typescript_reads_the_chain(&net, &snapshot);
    assert_verify_compares_with_the_deployed_program(&net);

    let human = net.run("admin", &["status"]);
    assert_ok(&human);
    assert!(text(&human).contains("conservation:") && text(&human).contains("holds"), "{}", text(&human));
}

#[test]
fn a_settle_killed_mid_run_resumes_and_settles_each_fill_exactly_once() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let net = Localnet::start("resume");
    let cluster = net.cluster();
    let (lines, expected) = fills(&net, 240);
    let path = write(&net, "fills.jsonl", &lines);
    let journal = net.dir.join("fills.jsonl.journal");
    // Small batches: many waves, so the kill lands mid-run.
    let args = ["settle", "--fills", path.to_str().unwrap(), "--max-fills", "4"];
    let mut first = net.command("matcher", &args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let progressed = wait_until(Duration::from_secs(120), || {
        // Whether it still runs is read first: a run that ends between the
        // two reads has landed its batches, and the journal shows them.
        let finished = first.try_wait().unwrap().is_some();
        let landed = std::fs::read_to_string(&journal).unwrap_or_default().matches("\"landed\"").count();
        assert!(landed >= 8 || !finished, "settle finished before it could be killed");
        landed >= 8
    });
    assert!(progressed, "fewer than 8 batches landed in 120 s");
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let journal_text = std::fs::read_to_string(&journal).unwrap();
    let planned = journal_text.matches("\"planned\"").count();
    let landed = journal_text.matches("\"landed\"").count();
    assert!(landed < planned || landed * 4 < lines.len(), "the kill came too late to test anything");

    let out = net.run("matcher", &args);
    assert_ok(&out);
    assert_positions(&cluster, &expected);
    assert_conserved(&cluster);
    // And once more: nothing is left to settle.
    let again = net.run("matcher", &args);
    assert_ok(&again);
    assert!(text(&again).contains("settled 0 fill(s)"), "{}", text(&again));
    assert_positions(&cluster, &expected);
}

#[test]
fn a_price_drop_then_liquidate_watch_restores_every_account() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let net = Localnet::start("liquidate");
    let cluster = net.cluster();
    // Three traders go long BTC near their initial margin (10,000 USDC each:
    // 15,000 lots of 6 USDC at 10% initial margin), a fourth ETH (30,000 lots of 3 USDC).
    let maker = net.account("maker-0", 0);
    let mut lines: Vec<String> = (0..3)
        .map(|i| fill_line(&format!("long-{i}"), BTC, &maker, &net.trader(i).0, true, BTC_TICKS, 15_000))
        .collect();
    let bankrupt = net.trader(3).0;
    lines.push(fill_line("long-eth", ETH, &maker, &bankrupt, true, ETH_TICKS, 30_000));
    let path = write(&net, "longs.jsonl", &lines);
    assert_ok(&net.run("matcher", &["settle", "--fills", path.to_str().unwrap()]));
    let insurance_before = cluster.insurance_balance().unwrap();

    // BTC falls 8%: every BTC long is under maintenance margin. ETH falls
    // 20%: the ETH long loses more than its collateral (bankrupt once liquidated).
    let price = (BTC_PRICE * 92 / 100).to_string();
    assert_ok(&net.run("admin", &["set-price", "--market", "BTC-PERP", "--price", &price]));
    let price = (ETH_PRICE * 80 / 100).to_string();
    assert_ok(&net.run("admin", &["set-price", "--market", "ETH-PERP", "--price", &price]));
    let unhealthy = |cluster: &Cluster| -> usize {
        let exchange = cluster.exchange().unwrap();
        let markets = cluster.markets(exchange.market_count).unwrap();
        let risk = cluster.risk_markets(exchange.quote_decimals, &markets).unwrap();
        cluster
            .margin_accounts(None)
            .unwrap()
            .iter()
            .filter(|(_, m): &&(_, MarginAccount)| m.portfolio.health(risk.as_slice()).unwrap().maintenance < 0)
            .count()
    };
    assert_eq!(unhealthy(&cluster), 4);

    // The watcher's report is read as it is printed: the test waits for the
    // chain to be healthy *and* for every action it checks to be reported
    // (the watcher prints an action after its transaction confirms, so the
    // chain can be healthy before the line is out).
    let watcher =
        net.command("liquidator", &["liquidate", "--watch", "--interval", "1"]).stdout(Stdio::piped()).spawn().unwrap();
    let mut watcher = Reported::new(watcher);
    let expected: Vec<String> = (0..4)
        .map(|i| net.trader(i).0.to_string())
        .chain(["liquidated".to_string(), format!("bankrupt {bankrupt}")])
        .collect();
    let restored = wait_until(Duration::from_secs(120), || {
        watcher.require_running();
        unhealthy(&cluster) == 0 && expected.iter().all(|e| watcher.report().contains(e.as_str()))
    });
    let left = unhealthy(&cluster);
    let report = watcher.stop();
    assert!(restored, "after 120 s: {left} account(s) unhealthy; the watcher reported:\n{report}");
    // Each trader's action, liquidations, and the bankrupt account: its
    // position taken over, its deficit covered by the insurance fund.
    for want in &expected {
        assert!(report.contains(want.as_str()), "{want} not reported:\n{report}");
    }
    let covered = cluster.load::<MarginAccount>(&bankrupt).unwrap().unwrap();
    assert!(!covered.portfolio.has_open_positions());
    assert_eq!(covered.portfolio.collateral, 0);
    assert!(cluster.insurance_balance().unwrap() < insurance_before);
    assert_conserved(&cluster);
    // The liquidator now holds the positions it took over.
    let liqor = cluster.load::<MarginAccount>(&net.account("liquidator", 0)).unwrap().unwrap();
    assert!(liqor.portfolio.position(BTC).is_some_and(|p| p.base_lots > 0));
}

/// `clearshard verify --deployed` against the validator: the deployed bytes
/// are the built file's, the upgrade authority is named; a file one byte
/// off, and an address that is no upgradeable program, are refused by name.
fn assert_verify_compares_with_the_deployed_program(net: &Localnet) {
    let so = workspace().join("target/deploy/clearshard.so");
    let verify = |so: &std::path::Path, program: &str| {
        Command::new(env!("CARGO_BIN_EXE_clearshard"))
            .args(["--url", &net.url, "verify", "--deployed", "--program-id", program, "--so"])
            .arg(so)
            .output()
            .expect("run clearshard")
    };
    let program = clearshard::ID.to_string();
    let out = verify(&so, &program);
    assert_ok(&out);
    let bytes = std::fs::read(&so).unwrap();
    let local = clearshard_client::deployed::without_padding(&bytes);
    let sha = sha2::Sha256::digest(local).iter().map(|b| format!("{b:02x}")).collect::<String>();
    let t = text(&out);
    let admin = read_keypair_file(net.key("admin")).unwrap().pubkey();
    assert_eq!(t.matches(&sha).count(), 2, "local and deployed hashes:\n{t}");
    assert!(
        t.contains(&format!("upgrade authority {admin}")) && t.contains("match: the cluster runs these bytes"),
        "{t}"
    );

    let mut altered = bytes.clone();
    let at = local.len() / 2;
    altered[at] ^= 1;
    let altered_path = net.dir.join("altered.so");
    std::fs::write(&altered_path, &altered).unwrap();
    let out = verify(&altered_path, &program);
    assert!(!out.status.success());
    assert!(
        text(&out).contains(&format!("differs from {} (first at byte {at})", altered_path.display())),
        "{}",
        text(&out)
    );

    let exchange = clearshard_client::pda::exchange().to_string();
    let out = verify(&so, &exchange);
    assert!(!out.status.success());
    let want = format!("{exchange} is owned by {program}, not the upgradeable loader");
    assert!(text(&out).contains(&want), "{}", text(&out));
    let nobody = Pubkey::new_unique().to_string();
    let out = verify(&so, &nobody);
    assert!(!out.status.success());
    assert!(text(&out).contains(&format!("no account at {nobody}")), "{}", text(&out));
}

/// Anchor's TypeScript client fetches every account over RPC and decodes it
/// from the committed IDL (`app/idl/test/fetch.mjs`): the same figures as Rust.
fn assert_typescript_reads_the_chain(net: &Localnet, snapshot: &clearshard_client::snapshot::Snapshot) {
    let dir = workspace().join("app/idl/test");
    assert!(dir.join("node_modules/@anchor-lang/core").exists(), "run `make idl-deps`");
    let out = Command::new("node").arg("fetch.mjs").arg(&net.url).current_dir(&dir).output().expect("node");
    assert_ok(&out);
    let ts: serde_json::Value = serde_json::from_slice(&out.stdout).expect("fetch.mjs prints JSON");
    assert_eq!(ts["Exchange"][0]["shard_count"], SHARDS);
    assert_eq!(ts["Shard"].as_array().unwrap().len(), usize::from(SHARDS));
    for shard in ts["Shard"].as_array().unwrap() {
        let index = shard["index"].as_u64().unwrap() as usize;
        assert_eq!(shard["collateral_claims"], snapshot.shards[index].collateral_claims.to_string());
        assert_eq!(shard["margin_accounts"], snapshot.shards[index].margin_accounts.to_string());
    }
    let margins = ts["MarginAccount"].as_array().unwrap();
    assert_eq!(margins.len(), snapshot.margins.len());
    for (address, account) in &snapshot.margins {
        let m = margins.iter().find(|m| m["address"] == address.to_string()).expect("every margin account");
        assert_eq!(m["collateral"], account.portfolio.collateral.to_string());
        let positions: Vec<(u64, String)> = m["positions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["market"].as_u64().unwrap(), p["base_lots"].as_str().unwrap().to_string()))
            .collect();
        let want: Vec<(u64, String)> = account
            .portfolio
            .positions
            .iter()
            .filter(|p| p.is_open())
            .map(|p| (u64::from(p.market_id), p.base_lots.to_string()))
            .collect();
        assert_eq!(positions, want, "{address}");
    }
}

/// What the chain holds, as the checks compare it: bad input must leave it as it was.
fn state(cluster: &Cluster) -> serde_json::Value {
    let s = cluster.snapshot().unwrap();
    serde_json::json!({
        "vaults": s.vaults,
        "claims": s.shards.iter().map(|x| x.collateral_claims).collect::<Vec<_>>(),
        "sequences": s.shards.iter().map(|x| x.sequences.iter().map(|w| (w.next, w.used)).collect::<Vec<_>>()).collect::<Vec<_>>(),
        "positions": s.margins.iter().map(|(a, m)| (a.to_string(), m.portfolio.positions.iter().map(|p| p.base_lots).collect::<Vec<_>>())).collect::<Vec<_>>(),
    })
}

#[test]
fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let net = Localnet::start("bad-input");
    let cluster = net.cluster();
    let before = state(&cluster);
    let (mut lines, _) = fills(&net, 6);

    // Malformed JSON Lines: every bad line named, nothing sent, no journal.
    let mut bad = lines.clone();
    bad[1] = "{\"id\":\"x\",".to_string();
    bad[3] = bad[3].replace("\"buy\"", "\"up\"").replace("\"sell\"", "\"up\"");
    let path = write(&net, "malformed.jsonl", &bad);
    let out = net.run("matcher", &["settle", "--fills", path.to_str().unwrap()]);
    assert!(!out.status.success());
    let t = text(&out);
    assert!(t.contains("line 2: not JSON") && t.contains("line 4: side:") && t.contains("nothing was sent"), "{t}");
    assert!(!net.dir.join("malformed.jsonl.journal").exists());

    // Unknown accounts: a taker that is no margin account.
    let stranger = Pubkey::new_unique();
    lines[2] = fill_line("f-2", BTC, &net.account("maker-0", 0), &stranger, true, BTC_TICKS, 1);
    let path = write(&net, "unknown.jsonl", &lines);
    let out = net.run("matcher", &["settle", "--fills", path.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains(&format!("line 3: taker {stranger}: no margin account")), "{}", text(&out));

    // A keypair that is not a registered matcher.
    let (good, _) = fills(&net, 6);
    let path = write(&net, "good.jsonl", &good);
    let out = net.run("trader-0", &["settle", "--fills", path.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("is not a registered matcher"), "{}", text(&out));

    // An unreachable URL.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let out = Command::new(env!("CARGO_BIN_EXE_clearshard"))
        .args(["--url", &dead, "--keypair"])
        .arg(net.key("matcher"))
        .args(["settle", "--fills", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains(&format!("cannot reach {dead}")), "{}", text(&out));

    assert_eq!(state(&cluster), before, "bad input changed the chain");
}
