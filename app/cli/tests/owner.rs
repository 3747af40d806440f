//! End to end over JSON-RPC, as an owner: finding its margin accounts,
//! creating one, moving collateral, setting limits, and trading with another
//! owner after the venue's only matcher was revoked (`clearshard trade`,
//! `settle_owner_trade`), and leaving once the matcher stops (`wind-down`,
//! `delist`, `exit`). Bad input gets a clear error and changes nothing.

mod common;

use anchor_lang::prelude::Pubkey;
use anchor_spl::associated_token::get_associated_token_address;
use clearshard::instructions::MarketConfig;
use clearshard::state::{MarginAccount, Market};
use clearshard_client::presets::*;
use clearshard_client::{instructions as ix, pda};
use common::*;
use solana_keypair::read_keypair_file;
use solana_signer::Signer;
use std::time::Duration;

fn collateral(net: &Localnet, address: &anchor_lang::prelude::Pubkey) -> i64 {
    net.cluster().load::<MarginAccount>(address).unwrap().expect("margin account").portfolio.collateral
}

fn btc_lots(net: &Localnet, address: &anchor_lang::prelude::Pubkey) -> i64 {
    let account = net.cluster().load::<MarginAccount>(address).unwrap().expect("margin account");
    account.portfolio.position(BTC).map_or(0, |p| p.base_lots)
}

fn fails_with(net: &Localnet, key: &str, args: &[&str], message: &str) {
    let out = net.run(key, args);
    assert!(!out.status.success(), "{args:?} succeeded:\n{}", text(&out));
    assert!(text(&out).contains(message), "{args:?}: expected {message:?} in:\n{}", text(&out));
}

#[test]
fn owners_find_their_accounts_move_collateral_and_trade_with_no_matcher() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let net = Localnet::start("owner");
    let cluster = net.cluster();
    let (taker, taker_shard) = net.trader(0);
    // A counterparty on another shard when there is one (home shards follow the keys).
    let other = (1..TRADERS).find(|i| net.trader(*i).1 != taker_shard).unwrap_or(1);
    let (maker, maker_shard) = net.trader(other);
    let maker_name = format!("trader-{other}");

    // The owner finds its margin account without deriving anything.
    let out = net.run("trader-0", &["accounts", "--json"]);
    assert_ok(&out);
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("accounts --json is JSON");
    let mine = listed.as_array().expect("a list");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["address"], taker.to_string());
    assert_eq!(mine[0]["shard"], taker_shard);
    assert_eq!(mine[0]["collateral"], collateral(&net, &taker));
    let owner = read_keypair_file(net.key(&maker_name)).unwrap().pubkey().to_string();
    let out = net.run("admin", &["accounts", "--owner", &owner, "--json"]);
    assert_ok(&out);
    let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(theirs[0]["address"], maker.to_string());

    // Tokens out of the home account, into a second one on another shard,
    // and all of it out again.
    let home = taker_shard.to_string();
    let home_before = collateral(&net, &taker);
    assert_ok(&net.run("trader-0", &["withdraw", "--shard", &home, "--amount", "5.25"]));
    assert_eq!(collateral(&net, &taker), home_before - 5_250_000);
    let spare_shard = (taker_shard + 1) % SHARDS;
    let shard = spare_shard.to_string();
    let spare = pda::margin_account(&read_keypair_file(net.key("trader-0")).unwrap().pubkey(), spare_shard, 0);
    assert_ok(&net.run("trader-0", &["account", "create", "--shard", &shard]));
    fails_with(&net, "trader-0", &["account", "create", "--shard", &shard], "already exists");
    fails_with(&net, "trader-0", &["deposit", "--shard", &shard, "--amount", "5.26"], "less than 5.26");
    let wallet_before = cluster.snapshot().unwrap().totals();
    assert_ok(&net.run("trader-0", &["deposit", "--shard", &shard, "--amount", "5.25"]));
    assert_eq!(collateral(&net, &spare), 5_250_000);
    assert_conserved(&cluster);
    assert_ok(&net.run("trader-0", &["withdraw", "--shard", &shard, "--amount", "all"]));
    assert_eq!(collateral(&net, &spare), 0);
    assert_eq!(cluster.snapshot().unwrap().totals(), wallet_before);
    assert_conserved(&cluster);

    // Bad input: a clear error, and the chain as it was.
    let before = cluster.snapshot().unwrap().totals();
    fails_with(&net, "trader-0", &["deposit", "--shard", &shard, "--amount", "1.2345678"], "at most 6 decimals");
    fails_with(&net, "trader-0", &["withdraw", "--shard", &shard, "--amount", "all"], "no collateral");
    fails_with(&net, "trader-0", &["deposit", "--shard", "99", "--amount", "1"], "no shard 99");
    let empty_shard = ((taker_shard + 2) % SHARDS).to_string();
    fails_with(&net, "trader-0", &["deposit", "--shard", &empty_shard, "--amount", "1"], "`account create` first");
    fails_with(&net, "trader-0", &["limits", "--shard", &shard, "--markets", "DOGE-PERP"], "no market \"DOGE-PERP\"");
    assert_eq!(cluster.snapshot().unwrap().totals(), before);

    // The venue's only matcher is revoked; the two owners trade anyway.
    let matcher = read_keypair_file(net.key("matcher")).unwrap().pubkey().to_string();
    assert_ok(&net.run("admin", &["revoke-matcher", &matcher]));
    assert_eq!(cluster.matcher(&matcher.parse().unwrap()).unwrap().expect("matcher record").active, 0);
    assert_ok(&net.run("admin", &["set-price", "--market", "BTC-PERP", "--price", &BTC_PRICE.to_string()]));
    let maker_key = net.key(&maker_name);
    let (taker_shard_arg, maker_shard_arg) = (taker_shard.to_string(), maker_shard.to_string());
    let (lots_before, maker_lots_before) = (btc_lots(&net, &taker), btc_lots(&net, &maker));
    let trade = |side: &str| {
        let mut args = vec!["trade", "--market", "BTC-PERP", "--side", side, "--lots", "10"];
        args.extend(["--price", "60000", "--shard", &taker_shard_arg, "--maker-shard", &maker_shard_arg]);
        args.extend(["--maker-keypair", maker_key.to_str().unwrap()]);
        net.run("trader-0", &args)
    };
    assert_ok(&trade("buy"));
    assert_eq!(btc_lots(&net, &taker), lots_before + 10);
    assert_eq!(btc_lots(&net, &maker), maker_lots_before - 10);
    assert_conserved(&cluster);
    assert_ok(&trade("sell"));
    assert_eq!((btc_lots(&net, &taker), btc_lots(&net, &maker)), (lots_before, maker_lots_before));
    assert_conserved(&cluster);

    // Revoked limits stop the owner's own trades too, with the program's error.
    assert_ok(&net.run("trader-0", &["limits", "--shard", &taker_shard_arg, "--revoke"]));
    let out = trade("buy");
    assert!(!out.status.success() && text(&out).contains("OwnerLimitsExpired"), "{}", text(&out));
    assert_ok(&net.run("trader-0", &["limits", "--shard", &taker_shard_arg, "--markets", "BTC-PERP,ETH-PERP"]));
    assert_ok(&trade("buy"));
    assert_eq!(btc_lots(&net, &taker), lots_before + 10);
    assert_conserved(&cluster);
}

/// Every owner's equity at the markets' settlement prices: collateral plus
/// what closing every position there pays, funding and loss settled first,
/// and the gains already held (paid at face: no deficit arose here).
fn equity_at_settlement(net: &Localnet, owner: &Pubkey) -> i128 {
    let cluster = net.cluster();
    let exchange = cluster.exchange().unwrap();
    let markets = cluster.markets(exchange.market_count).unwrap();
    let risk = cluster.risk_markets(exchange.quote_decimals, &markets).unwrap();
    let mut equity = 0;
    for (_, account) in cluster.margin_accounts(Some(owner)).unwrap() {
        let mut settled = account.portfolio;
        settled.settle_funding(&risk[..]).unwrap();
        equity += settled.health(&risk[..]).unwrap().equity;
        equity += i128::from(settled.settlement_gains_total().unwrap());
    }
    equity
}

fn wallet(net: &Localnet, owner: &Pubkey) -> u64 {
    let cluster = net.cluster();
    let mint = cluster.exchange().unwrap().collateral_mint;
    cluster.token_balance(&get_associated_token_address(owner, &mint)).unwrap_or(0)
}

/// The exit without a matcher, over RPC: the matcher stops; BTC, silent
/// past its liveness timeout (a minute on this test venue), is wound down
/// by anyone in two calls a timeout apart (`wind-down --wait`), ETH by the
/// admin's delisting; then every owner runs `exit`. Each wallet gains
/// exactly its equity at the settlement prices, every account ends empty,
/// and the vaults hold only fees and the insurance fund's share.
#[test]
fn the_matcher_stops_the_markets_wind_down_and_every_owner_exits() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let net = Localnet::start("exit");
    let cluster = net.cluster();
    let admin = cluster.payer.pubkey();
    for id in [BTC, ETH] {
        let market = cluster.load::<Market>(&pda::market(id)).unwrap().expect("market");
        let config = MarketConfig { liveness_timeout_mins: 1, ..MarketConfig::from(market.params) };
        cluster.send(&[ix::update_market(admin, id, config)], &[]).expect("a minute's liveness timeout");
    }
    let (lines, expected) = fills(&net, 30);
    let path = write(&net, "fills.jsonl", &lines);
    assert_ok(&net.run("matcher", &["settle", "--fills", path.to_str().unwrap(), "--priority-fee", "0"]));
    assert_positions(&cluster, &expected);
    let stopped_at = cluster.unix_timestamp().unwrap();

    // A trader holding BTC asks to exit; the timeout has not passed yet.
    let (exiting, account) = (0..TRADERS)
        .map(|i| format!("trader-{i}"))
        .find_map(|name| {
            let owner = read_keypair_file(net.key(&name)).unwrap().pubkey();
            let accounts = cluster.margin_accounts(Some(&owner)).unwrap();
            let holds_btc = |a: &MarginAccount| a.portfolio.position(BTC).is_some_and(|p| p.base_lots != 0);
            accounts.into_iter().find(|(_, a)| holds_btc(a)).map(|(address, _)| (name, address.to_string()))
        })
        .expect("a trader holds BTC");
    let out = net.run(&exiting, &["request-exit"]);
    let said = text(&out);
    assert!(out.status.success() && said.contains("exit requested") && said.contains("--unserved-exit"), "{said}");
    let address: Pubkey = account.parse().unwrap();
    let requested_at = cluster.load::<MarginAccount>(&address).unwrap().expect("account").portfolio.exit_requested_at;
    assert!(requested_at >= stopped_at);
    let unserved = ["wind-down", "--market", "BTC-PERP", "--unserved-exit", account.as_str()];
    fails_with(&net, "trader-1", &unserved, "ExitRequestNotDue");

    // Too early, then a delisting, then silence; each call has its answer.
    fails_with(&net, "trader-1", &["wind-down", "--market", "BTC-PERP"], "MarketStillLive");
    fails_with(&net, "trader-1", &["delist", "--market", "ETH-PERP"], "NotAdmin");
    assert_ok(&net.run("admin", &["delist", "--market", "ETH-PERP"]));
    let out = net.run("trader-1", &["wind-down", "--market", "ETH-PERP"]);
    assert!(out.status.success() && text(&out).contains("ETH-PERP: wound down"), "{}", text(&out));
    fails_with(&net, "trader-1", &["wind-down", "--market", "ETH-PERP"], "was wound down");
    assert!(wait_until(Duration::from_secs(120), || cluster.unix_timestamp().unwrap() > requested_at + 61));
    // The exit, unserved for the timeout, arms BTC's wind-down; `--wait`
    // completes it a timeout later.
    let waited: Vec<&str> = unserved.iter().copied().chain(["--wait"]).collect();
    let out = net.run("trader-2", &waited);
    let said = text(&out);
    assert!(out.status.success() && said.contains("armed") && said.contains("BTC-PERP: wound down"), "{said}");
    for id in [BTC, ETH] {
        let market = cluster.load::<Market>(&pda::market(id)).unwrap().expect("market");
        assert_eq!(market.wound_down, 1);
        assert!(market.settlement_price > 0);
    }
    assert_conserved(&cluster);

    // Every owner leaves with its equity at the settlement prices, to the unit.
    let mut owners = vec!["liquidator".to_string()];
    owners.extend((0..MAKERS).map(|i| format!("maker-{i}")));
    owners.extend((0..TRADERS).map(|i| format!("trader-{i}")));
    for name in &owners {
        let owner = read_keypair_file(net.key(name)).unwrap().pubkey();
        let (equity, before) = (equity_at_settlement(&net, &owner), wallet(&net, &owner));
        let out = net.run(name, &["exit"]);
        assert!(out.status.success() && text(&out).contains("got back"), "{name}: {}", text(&out));
        assert_eq!(i128::from(wallet(&net, &owner)) - i128::from(before), equity, "{name}");
        for (address, account) in cluster.margin_accounts(Some(&owner)).unwrap() {
            assert_eq!(account.portfolio.collateral, 0, "{name} {address}");
            assert!(account.portfolio.positions.iter().all(|p| !p.is_open()), "{name} {address}");
            assert!(!account.portfolio.holds_settlement_claims(), "{name} {address}");
        }
        assert_conserved(&cluster);
    }
    let again = net.run("trader-0", &["exit"]);
    assert!(again.status.success() && text(&again).contains("got back 0.00"), "{}", text(&again));
    fails_with(&net, "admin", &["exit"], "has no margin accounts");
    let snapshot = cluster.snapshot().unwrap();
    let totals = snapshot.totals();
    assert_eq!((totals.collateral, totals.unsettled_funding), (0, 0));
    assert_eq!(totals.vault_tokens as i128, totals.fees + totals.insurance_owed);
    assert!(snapshot.markets.iter().all(|m| m.wind_down_lots == 0 && m.wind_down_cash == 0 && m.is_final()));
}
