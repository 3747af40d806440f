//! The whole venue on the in-process bank.

use crate::rng::Rng;
use clearshard_client::bank::{TestExchange, Trader};
use clearshard_client::instructions as ix;
use clearshard_client::packing::{batch_transaction, serialized_len, MAX_TX_BYTES};
use clearshard_client::pda;
use clearshard_client::presets::*;
use clearshard_client::router::{schedule, AccountRef, BatchTarget, Router, Trade};
use indicatif::{ProgressBar, ProgressStyle};
use solana_signer::Signer;
use std::collections::{BTreeMap, HashMap};

pub struct DemoConfig {
    pub shards: u16,
    pub traders: usize,
    pub fills: usize,
    pub seed: u64,
}

/// Global market makers quote on every shard; a regional one only on shard 0,
/// so its fills with takers elsewhere settle in cross-shard batches.
const GLOBAL_MAKERS: usize = 3;
const MAKER_FUNDS: u64 = 1_000_000 * USDC;
/// Most addresses one lookup table holds.
const LOOKUP_TABLE_CAPACITY: usize = 256;

fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len}").map(|s| s.progress_chars("=> "));
    if let Ok(style) = style {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar
}

fn err(e: impl std::fmt::Debug) -> String {
    format!("{e:?}")
}

pub async fn run(cfg: DemoConfig) -> Result<(), String> {
    let mut rng = Rng::new(cfg.seed);
    let mut ex = TestExchange::start(cfg.shards).await;
    println!(
        "clearshard demo: {} shards, {} traders, {} global + 1 regional market makers, {} fills (program: {:?}, seed {})",
        cfg.shards, cfg.traders, GLOBAL_MAKERS, cfg.fills, ex.mode, cfg.seed
    );
    ex.add_market(BTC, "BTC-PERP", btc_market(), BTC_PRICE, PRICE_EXPO).await;
    ex.add_market(ETH, "ETH-PERP", eth_market(), ETH_PRICE, PRICE_EXPO).await;
    let matcher = ex.register_matcher().await;
    let now = ex.now().await;

    // Traders: one margin account each, on their home shard.
    let mut takers: Vec<(Trader, AccountRef, u64)> = vec![];
    let progress = bar(cfg.traders as u64, "traders");
    for _ in 0..cfg.traders {
        let deposit = rng.range(2_000, 20_000) * USDC;
        let trader = ex.trader(deposit).await;
        let shard = pda::home_shard(&trader.key(), cfg.shards);
        let address = ex.create_margin_account(&trader, shard, 0).await.map_err(err)?;
        ex.deposit(&trader, address, shard, deposit).await.map_err(err)?;
        ex.set_limits(&trader, address, open_limits(now)).await.map_err(err)?;
        takers.push((trader, AccountRef { address, shard }, deposit));
        progress.inc(1);
    }
    progress.finish();

    // Market makers: fund a home account, then move collateral out to a
    // liquidity account on every other shard.
    let mut makers: Vec<Vec<(u16, anchor_lang::prelude::Pubkey)>> = vec![];
    let progress = bar(GLOBAL_MAKERS as u64 + 1, "market makers");
    for m in 0..=GLOBAL_MAKERS {
        let regional = m == GLOBAL_MAKERS;
        let trader = ex.trader(MAKER_FUNDS).await;
        let home = ex.create_margin_account(&trader, 0, 0).await.map_err(err)?;
        ex.deposit(&trader, home, 0, MAKER_FUNDS).await.map_err(err)?;
        ex.set_limits(&trader, home, open_limits(now)).await.map_err(err)?;
        let mut book = vec![(0, home)];
        if !regional {
            let per_shard = MAKER_FUNDS / cfg.shards as u64;
            for shard in 1..cfg.shards {
                let address = ex.create_margin_account(&trader, shard, 0).await.map_err(err)?;
                ex.transfer(&trader, (home, 0), (address, shard), per_shard, &[]).await.map_err(err)?;
                ex.set_limits(&trader, address, open_limits(now)).await.map_err(err)?;
                book.push((shard, address));
            }
        }
        makers.push(book);
        progress.inc(1);
    }
    progress.finish();

    // Some traders take a tenth back out before trading.
    let mut withdrawals = 0;
    for (trader, account, deposit) in takers.iter().step_by(10) {
        ex.withdraw(trader, account.address, account.shard, deposit / 10, &[]).await.map_err(err)?;
        withdrawals += 1;
    }
    let totals = ex.assert_conserved().await;
    println!(
        "funded: {} margin accounts, {} withdrawals, vaults hold {} USDC, conservation {}",
        ex.margin_accounts.len(),
        withdrawals,
        totals.vault_tokens / USDC as u128,
        if totals.conserved() { "holds" } else { "BROKEN" }
    );

    // One lookup table for every account a batch can name.
    let mut addresses = vec![pda::exchange(), pda::matcher(&matcher.pubkey())];
    addresses.extend((0..cfg.shards).map(pda::shard));
    addresses.extend([BTC, ETH].iter().flat_map(|m| [pda::market(*m), pda::price_feed(*m)]));
    addresses.extend(ex.margin_accounts.iter().copied());
    if addresses.len() > LOOKUP_TABLE_CAPACITY {
        return Err(format!("{} accounts do not fit one lookup table; use fewer traders", addresses.len()));
    }
    let table = ex.create_lookup_table(&addresses).await;

    // The matching engine's output: random trades near the oracle.
    let mut router = Router::new(makers, BTreeMap::new());
    let mut net: HashMap<(usize, u16), i64> = HashMap::new();
    for _ in 0..cfg.fills {
        let taker = rng.range(0, takers.len() as u64) as usize;
        let maker = if rng.chance(4) { GLOBAL_MAKERS } else { rng.range(0, GLOBAL_MAKERS as u64) as usize };
        let market = if rng.chance(60) { BTC } else { ETH };
        let oracle_ticks = if market == BTC { BTC_TICKS } else { ETH_TICKS };
        let ticks = oracle_ticks - oracle_ticks / 200 + rng.range(0, oracle_ticks as u64 / 100) as u32;
        let lots = rng.range(1, 20) as i64;
        let position = net.entry((taker, market)).or_default();
        let mut taker_buys = rng.chance(50);
        if (*position + if taker_buys { lots } else { -lots }).abs() > 150 {
            taker_buys = !taker_buys;
        }
        *position += if taker_buys { lots } else { -lots };
        let trade = Trade { taker: takers[taker].1, maker, market, taker_buys, lots: lots as u32, ticks };
        router.route(&trade)?;
    }
    let batches = router.finish();
    let waves = schedule(&batches);
    let cross = batches.iter().filter(|b| matches!(b.target, BatchTarget::Cross(..))).count();
    let largest = batches.iter().map(|b| b.shape.fills).max().unwrap_or(0);
    println!(
        "routed: {} fills into {} batches ({} cross-shard), largest {} fills; {} waves, up to {} batches in flight at once",
        cfg.fills,
        batches.len(),
        cross,
        largest,
        waves.len(),
        waves.iter().map(Vec::len).max().unwrap_or(0)
    );

    // Post every batch as a v0 transaction through the lookup table.
    let progress = bar(cfg.fills as u64, "fills settled");
    let mut largest_tx = 0;
    for wave in &waves {
        for i in wave {
            let b = &batches[*i];
            let settle = match b.target {
                BatchTarget::Shard(s) => ix::settle_batch(matcher.pubkey(), s, &b.plan),
                BatchTarget::Cross(a, c) => ix::settle_cross_batch(matcher.pubkey(), a, c, &b.plan),
            };
            let tx = batch_transaction(&matcher, settle, b.shape.compute_units(), &table, ex.blockhash())?;
            let len = serialized_len(&tx);
            if len > MAX_TX_BYTES {
                return Err(format!("batch {i} serializes to {len} bytes"));
            }
            largest_tx = largest_tx.max(len);
            ex.send_versioned(tx).await.map_err(|e| format!("batch {i} ({:?}) refused: {e:?}", b.target))?;
            progress.inc(b.shape.fills as u64);
        }
    }
    progress.finish();
    println!("settled: largest transaction {largest_tx} of {MAX_TX_BYTES} bytes");

    // Cross-shard fills moved claims between shards: rebalance the vaults.
    let mut rebalances = 0;
    loop {
        let mut imbalance = vec![];
        for s in 0..cfg.shards {
            imbalance.push((ex.vault_imbalance(s).await, s));
        }
        let (surplus, from) = *imbalance.iter().max().ok_or("no shards")?;
        let (deficit, to) = *imbalance.iter().min().ok_or("no shards")?;
        if surplus <= 0 || deficit >= 0 {
            break;
        }
        ex.send(&[ix::rebalance_vaults(from, to)], &[]).await.map_err(err)?;
        rebalances += 1;
    }
    println!("rebalanced: {rebalances} vault transfers\n");

    print_shard_table(&mut ex, cfg.shards).await;
    let totals = ex.totals().await;
    let conserved = totals.conserved();
    println!(
        "\nconservation: vaults {} = collateral {} + fees {} + insurance {} -> {}",
        usdc(totals.vault_tokens as i128),
        usdc(totals.collateral),
        usdc(totals.fees),
        usdc(totals.insurance_tokens as i128),
        if conserved { "holds" } else { "BROKEN" }
    );
    println!(
        "net open interest: BTC {} lots, ETH {} lots",
        totals.net_base_lots[BTC as usize], totals.net_base_lots[ETH as usize]
    );
    if !conserved {
        return Err("conservation broken".into());
    }
    Ok(())
}

fn usdc(native: i128) -> String {
    format!("{}.{:02}", native / USDC as i128, (native.abs() % USDC as i128) / 10_000)
}

async fn print_shard_table(ex: &mut TestExchange, shards: u16) {
    println!(
        "{:>5} {:>8} {:>14} {:>14} {:>7} {:>9} {:>9} {:>10}",
        "shard", "accounts", "vault USDC", "owed USDC", "fills", "OI BTC", "OI ETH", "fees USDC"
    );
    for s in 0..shards {
        let shard = ex.shard(s).await;
        let vault = ex.token_balance(pda::vault(s)).await;
        let owed = shard.liabilities().unwrap_or(i64::MIN);
        let fills: u64 = shard.markets.iter().map(|m| m.fills).sum();
        let fees: i64 = shard.markets.iter().map(|m| m.fees).sum();
        println!(
            "{:>5} {:>8} {:>14} {:>14} {:>7} {:>9} {:>9} {:>10}",
            s,
            shard.margin_accounts,
            usdc(vault as i128),
            usdc(owed as i128),
            fills,
            shard.markets[BTC as usize].open_interest,
            shard.markets[ETH as usize].open_interest,
            usdc(fees as i128)
        );
    }
}
