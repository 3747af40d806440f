//! The whole venue on the in-process bank.

use clearshard_client::bank::{ProgramMode, TestExchange, Totals, Trader};
use clearshard_client::instructions as ix;
use clearshard_client::packing::{batch_transaction, serialized_len, MAX_TX_BYTES};
use clearshard_client::pda;
use clearshard_client::presets::*;
use clearshard_client::rng::Rng;
use clearshard_client::router::{schedule, AccountRef, BatchTarget, Router, Trade};
use clearshard_engine::liquidation::liquidatable_lots;
use indicatif::{ProgressBar, ProgressStyle};
use solana_keypair::Keypair;
use solana_message::AddressLookupTableAccount;
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
    let mut ex = TestExchange::start_seeded(cfg.shards, cfg.seed).await;
    let program = match ex.mode {
        ProgramMode::Sbf => "the SBF binary target/deploy/clearshard.so",
        ProgramMode::Native => "the native entrypoint (--native, a debugging aid)",
    };
    println!(
        "clearshard demo on {program}: {} shards, {} traders, {} global + 1 regional market makers, {} fills, seed {}",
        cfg.shards, cfg.traders, GLOBAL_MAKERS, cfg.fills, cfg.seed
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
            let tx = batch_transaction(&matcher, settle, b.shape.budget(0), &table, ex.blockhash().await)?;
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
    let rebalances = rebalance(&mut ex, cfg.shards).await?;
    println!("rebalanced: {rebalances} vault transfers\n");

    print_shard_table(&mut ex, cfg.shards).await;
    let totals = ex.totals().await;
    report_conservation(&totals);

    price_crash(&mut ex, &matcher, &table, cfg.shards).await?;
    rebalance(&mut ex, cfg.shards).await?;
    println!();
    print_shard_table(&mut ex, cfg.shards).await;
    let totals = ex.totals().await;
    report_conservation(&totals);
    if !totals.conserved() {
        return Err("conservation broken".into());
    }
    Ok(())
}

fn report_conservation(totals: &Totals) {
    println!(
        "\nconservation: vaults {} + insurance vault {} = collateral {} + fees {} + insurance fund {} -> {}",
        format_usdc(totals.vault_tokens as i128),
        format_usdc(totals.insurance_tokens as i128),
        format_usdc(totals.collateral + totals.unsettled_funding),
        format_usdc(totals.fees),
        format_usdc(totals.insurance_fund()),
        if totals.conserved() { "holds" } else { "BROKEN" }
    );
    println!(
        "net open interest: BTC {} lots, ETH {} lots",
        totals.net_base_lots[BTC as usize], totals.net_base_lots[ETH as usize]
    );
}

/// Moves tokens from vaults holding more than their shard owes to those
/// holding less until every vault matches; returns the transfers made.
async fn rebalance(ex: &mut TestExchange, shards: u16) -> Result<usize, String> {
    let mut transfers = 0;
    loop {
        let mut imbalance = vec![];
        for s in 0..shards {
            imbalance.push((ex.vault_surplus(s).await, s));
        }
        let (surplus, from) = *imbalance.iter().max().ok_or("no shards")?;
        let (deficit, to) = *imbalance.iter().min().ok_or("no shards")?;
        if surplus <= 0 || deficit >= 0 {
            return Ok(transfers);
        }
        ex.refresh_blockhash().await;
        let markets = ex.market_ids().await;
        ex.send(&[ix::rebalance_vaults(from, to, &markets)], &[]).await.map_err(err)?;
        transfers += 1;
    }
}

/// Leveraged longs on every shard, then BTC falls 8% (partial liquidations
/// by a liquidator on shard 0) and 20% (accounts under water: full
/// liquidation and bankruptcy covered by the insurance fund).
async fn price_crash(
    ex: &mut TestExchange,
    matcher: &Keypair,
    table: &AddressLookupTableAccount,
    shards: u16,
) -> Result<(), String> {
    const INSURANCE_SEED: u64 = 500 * USDC;
    ex.fund_insurance(INSURANCE_SEED).await;
    let now = ex.now().await;
    let liquidator = ex.trader(500_000 * USDC).await;
    let liqor = ex.create_margin_account(&liquidator, 0, 7).await.map_err(err)?;
    ex.deposit(&liquidator, liqor, 0, 500_000 * USDC).await.map_err(err)?;
    // A maker on shard 0 sells 100 BTC lots at the oracle to each leveraged trader.
    let maker = ex.trader(1_000_000 * USDC).await;
    let mut book = vec![];
    for shard in 0..shards {
        let address = ex.create_margin_account(&maker, shard, 9).await.map_err(err)?;
        ex.deposit(&maker, address, shard, 1_000_000 * USDC / shards as u64).await.map_err(err)?;
        ex.set_limits(&maker, address, open_limits(now)).await.map_err(err)?;
        book.push((shard, address));
    }
    let mut leveraged = vec![];
    for i in 0..2 * shards {
        // Two per shard: one with 70 USDC of margin, one with 61 (the reckless one).
        let margin = if i % 2 == 0 { 70 * USDC } else { 61 * USDC };
        let trader = ex.trader(margin).await;
        let shard = i / 2;
        let address = ex.create_margin_account(&trader, shard, 0).await.map_err(err)?;
        ex.deposit(&trader, address, shard, margin).await.map_err(err)?;
        ex.set_limits(&trader, address, open_limits(now)).await.map_err(err)?;
        leveraged.push(AccountRef { address, shard });
    }
    let mut sequences = BTreeMap::new();
    let matcher_index =
        ex.load::<clearshard_client::clearshard::state::Matcher>(pda::matcher(&matcher.pubkey())).await.index as usize;
    for shard in 0..shards {
        sequences.insert(shard, ex.shard(shard).await.sequences[matcher_index].next);
    }
    let mut router = Router::new(vec![book], sequences);
    for account in &leveraged {
        router.route(&Trade {
            taker: *account,
            maker: 0,
            market: BTC,
            taker_buys: true,
            lots: 100,
            ticks: BTC_TICKS,
        })?;
    }
    for b in router.finish() {
        let BatchTarget::Shard(shard) = b.target else { return Err("unexpected cross batch".into()) };
        let settle = ix::settle_batch(matcher.pubkey(), shard, &b.plan);
        let tx = batch_transaction(matcher, settle, b.shape.budget(0), table, ex.blockhash().await)?;
        ex.send_versioned(tx).await.map_err(err)?;
    }
    let insurance_before = ex.totals().await.insurance_fund();
    println!(
        "\nprice crash: {} leveraged BTC longs of 100 lots (61-70 USDC margin), insurance fund {}",
        leveraged.len(),
        format_usdc(insurance_before)
    );

    let mut liquidations = 0;
    let mut lots_taken = 0;
    let mut bankruptcies = 0;
    let mut covered = 0u64;
    for fall in [8, 20] {
        ex.set_price(BTC, BTC_PRICE * (100 - fall) / 100, 0, PRICE_EXPO).await.map_err(err)?;
        ex.set_price(ETH, ETH_PRICE, 0, PRICE_EXPO).await.map_err(err)?;
        let risk = ex.risk_markets(&[BTC, ETH]).await;
        let mut liquidated_now = 0;
        for account in &leveraged {
            let portfolio = ex.margin(account.address).await.portfolio;
            let Ok(lots) = liquidatable_lots(&portfolio, &risk, BTC) else { continue };
            let accounts = ix::LiquidationAccounts {
                liquidator: liquidator.key(),
                liqee: (account.address, account.shard),
                liqor: (liqor, 0),
            };
            let markets = [BTC, ETH];
            ex.send(&[ix::liquidate(&accounts, BTC, lots, &markets)], &[&liquidator.keypair]).await.map_err(err)?;
            liquidations += 1;
            liquidated_now += 1;
            lots_taken += lots;
            let after = ex.margin(account.address).await.portfolio;
            if !after.has_open_positions() && after.collateral < 0 {
                let deficit = after.collateral.unsigned_abs();
                ex.send(&[ix::resolve_bankruptcy(account.address, account.shard)], &[]).await.map_err(err)?;
                bankruptcies += 1;
                let uncovered = ex.margin(account.address).await.portfolio.collateral.unsigned_abs();
                covered += deficit - uncovered;
            }
            if !ex.totals().await.conserved() {
                return Err(format!("conservation broken after liquidating {}", account.address));
            }
        }
        println!("  BTC -{fall}%: {liquidated_now} liquidations");
    }
    // The fund: its vault, and its share of liquidation fees still held in shard vaults.
    let insurance_after = ex.totals().await.insurance_fund();
    println!(
        "liquidations: {liquidations} ({lots_taken} lots taken over on shard 0), {bankruptcies} bankruptcies covered with {} USDC; insurance fund {} -> {}",
        format_usdc(covered as i128),
        format_usdc(insurance_before),
        format_usdc(insurance_after)
    );
    Ok(())
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
            format_usdc(vault as i128),
            format_usdc(owed as i128),
            fills,
            shard.markets[BTC as usize].open_interest,
            shard.markets[ETH as usize].open_interest,
            format_usdc(fees as i128)
        );
    }
}
