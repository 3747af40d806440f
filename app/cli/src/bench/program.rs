//! Compute units of every instruction, metered on the SBF program in the
//! in-process bank (solana-program-test 3.1 runs `target/deploy/clearshard.so`).
//! All-in figures are the runtime's own `Program … consumed N` lines (token
//! CPIs included); the split comes from a second binary built with the
//! `cu-trace` checkpoints.

use anchor_lang::solana_program::instruction::Instruction;
use clearshard::instructions::OwnerTrade;
use clearshard::state::MAX_SHARDS;
use clearshard_client::bank::{Metered, ProgramMode, TestExchange, Trader};
use clearshard_client::instructions::{self as ix, BatchPlan, TradeSide};
use clearshard_client::packing::{batch_transaction, BatchShape};
use clearshard_client::pda;
use clearshard_client::presets::*;
use clearshard_engine::funding::FUNDING_PERIOD_SECS;
use clearshard_engine::Fill;
use serde_json::{Map, Value};
use solana_keypair::Keypair;
use solana_message::AddressLookupTableAccount;
use solana_signer::Signer;

/// Accounts of the batch workload: market makers on one side of every fill,
/// takers on the other (every listed account trades).
const MAKERS: usize = 4;
const TAKERS: usize = 12;
const SHARDS: u16 = 8;
pub const BATCH_SIZES: [usize; 4] = [1, 8, 32, 64];

fn err(e: impl std::fmt::Debug) -> String {
    format!("{e:?}")
}

struct Venue {
    ex: TestExchange,
    matcher: Keypair,
    table: AddressLookupTableAccount,
    /// Margin accounts on shard 0: makers first, then takers.
    accounts: Vec<(Trader, anchor_lang::prelude::Pubkey)>,
    /// Accounts on shard 1 for the cross-shard batch.
    remote: Vec<(Trader, anchor_lang::prelude::Pubkey)>,
}

impl Venue {
    async fn start() -> Result<Venue, String> {
        let mut ex = TestExchange::start_seeded(SHARDS, 11).await;
        if ex.mode != ProgramMode::Sbf {
            return Err("the bench meters the SBF program: run `make sbf` first".into());
        }
        ex.add_market(BTC, "BTC-PERP", btc_market(), BTC_PRICE, PRICE_EXPO).await;
        ex.add_market(ETH, "ETH-PERP", eth_market(), ETH_PRICE, PRICE_EXPO).await;
        let matcher = ex.register_matcher().await;
        let mut accounts = vec![];
        for _ in 0..MAKERS + TAKERS {
            accounts.push(funded(&mut ex, 0, 1_000_000 * USDC).await?);
        }
        let mut remote = vec![];
        for _ in 0..TAKERS {
            remote.push(funded(&mut ex, 1, 1_000_000 * USDC).await?);
        }
        let mut addresses = vec![pda::exchange(), pda::matcher(&matcher.pubkey())];
        addresses.extend((0..SHARDS).map(pda::shard));
        addresses.extend([BTC, ETH].iter().flat_map(|m| [pda::market(*m), pda::price_feed(*m)]));
        addresses.extend(accounts.iter().chain(&remote).map(|(_, a)| *a));
        let table = ex.create_lookup_table(&addresses).await;
        Ok(Venue { ex, matcher, table, accounts, remote })
    }

    async fn next_sequence(&mut self, shard: u16) -> u64 {
        let index = self.ex.load::<clearshard::state::Matcher>(pda::matcher(&self.matcher.pubkey())).await.index;
        self.ex.shard(shard).await.sequences[index as usize].next
    }

    /// Posts `fills` among `accounts` (indices into makers-then-takers) on
    /// `shard`, or across `shard` and `second`, as a v0 transaction through the
    /// lookup table; returns the program's metered units.
    async fn settle(
        &mut self,
        shard: u16,
        second: Option<u16>,
        accounts: Vec<anchor_lang::prelude::Pubkey>,
        fills: &[Fill],
    ) -> Result<Metered, String> {
        let sequence = self.next_sequence(shard).await;
        let plan = BatchPlan {
            sequence,
            markets: vec![BTC, ETH],
            accounts: accounts.clone(),
            fills: fills.iter().flat_map(|f| f.encode()).collect(),
        };
        let settle = match second {
            None => ix::settle_batch(self.matcher.pubkey(), shard, &plan),
            Some(b) => ix::settle_cross_batch(self.matcher.pubkey(), shard, b, &plan),
        };
        let shape = BatchShape {
            shards: 1 + usize::from(second.is_some()),
            markets: 2,
            margin_accounts: accounts.len(),
            fills: fills.len(),
        };
        if !shape.fits() {
            return Err(format!("a batch of {} fills does not fit one transaction", fills.len()));
        }
        let blockhash = self.ex.blockhash().await;
        let tx = batch_transaction(&self.matcher, settle, shape.budget(0), &self.table, blockhash)?;
        self.ex.execute_metered(tx).await.map_err(err)
    }

    /// A funding round over every shard in the next epoch, then the clock
    /// into the epoch its rate accrues over, so the next touch of each
    /// position settles funding (the costly case the figures quote).
    async fn accrue_funding(&mut self) -> Result<(), String> {
        self.ex.advance_clock(FUNDING_PERIOD_SECS).await;
        let shards: Vec<u16> = (0..self.ex.shard_count).collect();
        for market in [BTC, ETH] {
            for page in shards.chunks(16) {
                self.ex.send_fresh(&[ix::update_funding(market, page)], &[]).await.map_err(err)?;
            }
        }
        self.ex.advance_clock(FUNDING_PERIOD_SECS + FUNDING_PERIOD_SECS / 2).await;
        self.refresh_prices(BTC_PRICE).await
    }

    /// A 100-lot BTC long on 70 USDC (shard 2) after an 8% fall, and the
    /// liquidation a liquidator on shard 3 may make of it, sized by the engine.
    async fn crashed_long(&mut self) -> Result<(Instruction, Keypair), String> {
        let (_, long) = funded(&mut self.ex, 2, 70 * USDC).await?;
        let (maker_trader, maker) = (self.accounts[0].0.clone(), self.accounts[0].1);
        let maker_on_2 = self.ex.create_margin_account(&maker_trader, 2, 0).await.map_err(err)?;
        self.ex.transfer(&maker_trader, (maker, 0), (maker_on_2, 2), 100_000 * USDC, &[BTC, ETH]).await.map_err(err)?;
        let now = self.ex.now().await;
        self.ex.set_limits(&maker_trader, maker_on_2, open_limits(now)).await.map_err(err)?;
        let fill =
            Fill { taker: 0, maker: 1, market_slot: 0, taker_buys: true, quantity_lots: 100, price_ticks: BTC_TICKS };
        let sequence = self.next_sequence(2).await;
        let plan =
            BatchPlan { sequence, markets: vec![BTC], accounts: vec![long, maker_on_2], fills: fill.encode().to_vec() };
        let matcher = self.matcher.insecure_clone();
        self.ex.send(&[ix::settle_batch(matcher.pubkey(), 2, &plan)], &[&matcher]).await.map_err(err)?;
        self.refresh_prices(BTC_PRICE * 92 / 100).await?;
        let (liquidator, liqor) = funded(&mut self.ex, 3, 10_000 * USDC).await?;
        let risk = self.ex.risk_markets(&[BTC]).await;
        let portfolio = self.ex.margin(long).await.portfolio;
        let lots = clearshard_engine::liquidation::liquidatable_lots(&portfolio, &risk, BTC).map_err(err)?;
        let accounts = ix::LiquidationAccounts { liquidator: liquidator.key(), liqee: (long, 2), liqor: (liqor, 3) };
        Ok((ix::liquidate(&accounts, BTC, lots, &[BTC]), liquidator.keypair))
    }

    async fn refresh_prices(&mut self, btc: i64) -> Result<(), String> {
        self.ex.set_price(BTC, btc, 0, PRICE_EXPO).await.map_err(err)?;
        self.ex.set_price(ETH, ETH_PRICE, 0, PRICE_EXPO).await.map_err(err)
    }
}

async fn funded(
    ex: &mut TestExchange,
    shard: u16,
    amount: u64,
) -> Result<(Trader, anchor_lang::prelude::Pubkey), String> {
    // Twice the deposit minted: the collateral figures deposit again.
    let trader = ex.trader(2 * amount).await;
    let address = ex.create_margin_account(&trader, shard, 0).await.map_err(err)?;
    ex.deposit(&trader, address, shard, amount).await.map_err(err)?;
    let now = ex.now().await;
    ex.set_limits(&trader, address, open_limits(now)).await.map_err(err)?;
    Ok((trader, address))
}

/// `count` fills between `makers` makers (indices 0..makers) and `takers`
/// takers (after them), over both markets, each side about as often as the
/// other, at a 0.1% premium so funding rounds have something to accrue.
fn workload(count: usize, makers: usize, takers: usize) -> Vec<Fill> {
    (0..count)
        .map(|i| {
            let slot = (i % 2) as u8;
            let ticks = if slot == 0 { BTC_TICKS } else { ETH_TICKS };
            Fill {
                taker: (makers + i % takers) as u8,
                maker: (i % makers) as u8,
                market_slot: slot,
                taker_buys: (i / 2) % 2 == 0,
                quantity_lots: 1 + (i % 3) as u32,
                price_ticks: ticks + ticks / 1_000,
            }
        })
        .collect()
}

/// The largest settle_batch of this workload that fits one transaction.
pub fn max_batch() -> usize {
    (1..1_000)
        .take_while(|f| BatchShape { shards: 1, markets: 2, margin_accounts: MAKERS + TAKERS, fills: *f }.fits())
        .last()
        .unwrap_or(0)
}

fn clearshard_units(m: &Metered) -> Result<u64, String> {
    m.program_units(&clearshard::ID).last().copied().ok_or_else(|| "no clearshard invocation in the logs".to_string())
}

/// Every instruction's all-in compute units, as `program_*` keys.
pub async fn measure() -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    let mut v = Venue::start().await?;
    let token = ix::token_program();

    // Collateral: first deposit, a withdrawal and transfers, flat accounts.
    let (trader, address) = funded(&mut v.ex, 2, 10_000 * USDC).await?;
    let mv = v.ex.collateral_move(&trader, address, 2);
    let m = v.ex.send_metered(&[ix::deposit(&mv, 1_000 * USDC)], &[&trader.keypair]).await.map_err(err)?;
    out.insert("program_deposit_cu".into(), clearshard_units(&m)?.into());
    out.insert("program_deposit_token_cpi_cu".into(), m.cpi_units(&token).into());
    let m = v.ex.send_metered(&[ix::withdraw(&mv, 500 * USDC, &[])], &[&trader.keypair]).await.map_err(err)?;
    out.insert("program_withdraw_cu".into(), clearshard_units(&m)?.into());
    out.insert("program_withdraw_token_cpi_cu".into(), m.cpi_units(&token).into());
    // A second account of the owner on its shard, then one on another shard.
    for (shard, sub_id, kind) in [(2, 1, "same_shard"), (3, 0, "cross_shard")] {
        let to = v.ex.create_margin_account(&trader, shard, sub_id).await.map_err(err)?;
        let transfer = ix::transfer_collateral(trader.key(), (address, 2), (to, shard), 100 * USDC, &[]);
        let m = v.ex.send_metered(&[transfer], &[&trader.keypair]).await.map_err(err)?;
        out.insert(format!("program_transfer_{kind}_cu"), clearshard_units(&m)?.into());
        out.insert(format!("program_transfer_{kind}_token_cpi_cu"), m.cpi_units(&token).into());
    }

    // settle_batch: every account holds both markets and owes funding.
    let all: Vec<_> = v.accounts.iter().map(|(_, a)| *a).collect();
    v.settle(0, None, all.clone(), &workload(2 * (MAKERS + TAKERS), MAKERS, TAKERS)).await?;
    let max = max_batch();
    for size in BATCH_SIZES.iter().copied().chain([max]) {
        v.accrue_funding().await?;
        let (makers, takers) = (MAKERS.min(size), TAKERS.min(size));
        let accounts: Vec<_> = all[..makers].iter().chain(&all[MAKERS..MAKERS + takers]).copied().collect();
        let m = v.settle(0, None, accounts, &workload(size, makers, takers)).await?;
        let units = clearshard_units(&m)?;
        let key = if size == max { "max".to_string() } else { size.to_string() };
        out.insert(format!("program_cu_per_fill_b{key}"), (units / size as u64).into());
        out.insert(format!("program_settle_batch_cu_b{key}"), units.into());
    }
    out.insert("program_max_batch_fills".into(), max.into());

    // settle_cross_batch: makers on shard 0, takers on shard 1.
    let remote: Vec<_> = v.remote.iter().map(|(_, a)| *a).collect();
    let accounts: Vec<_> = all[..MAKERS].iter().chain(&remote).copied().collect();
    v.settle(0, Some(1), accounts.clone(), &workload(2 * TAKERS, MAKERS, TAKERS)).await?;
    v.accrue_funding().await?;
    let m = v.settle(0, Some(1), accounts, &workload(32, MAKERS, TAKERS)).await?;
    let units = clearshard_units(&m)?;
    out.insert("program_settle_cross_batch_cu_b32".into(), units.into());
    out.insert("program_cross_cu_per_fill_b32".into(), (units / 32).into());

    // settle_owner_trade: a maker on shard 0 and a taker on shard 1, both
    // holding both markets and owing funding, sign one fill.
    v.accrue_funding().await?;
    let (maker, taker) = (&v.accounts[0], &v.remote[0]);
    let sides = [(taker, 1), (maker, 0)].map(|((t, a), shard)| TradeSide { owner: t.key(), account: *a, shard });
    let trade = OwnerTrade {
        market_slot: 0,
        taker_buys: true,
        quantity_lots: 10,
        price_ticks: BTC_TICKS,
        expires_at: i64::MAX,
    };
    let trade = ix::settle_owner_trade(&sides[0], &sides[1], &[BTC, ETH], trade);
    let signers = [maker.0.keypair.insecure_clone(), taker.0.keypair.insecure_clone()];
    let m = v.ex.send_metered(&[trade], &[&signers[0], &signers[1]]).await.map_err(err)?;
    out.insert("program_settle_owner_trade_cu".into(), clearshard_units(&m)?.into());

    // liquidate: a leveraged long after an 8% fall, taken over from shard 3.
    let (liquidate, liquidator) = v.crashed_long().await?;
    let m = v.ex.send_metered(&[liquidate], &[&liquidator]).await.map_err(err)?;
    out.insert("program_liquidate_cu".into(), clearshard_units(&m)?.into());
    v.refresh_prices(BTC_PRICE).await?;

    // update_funding: one page of 8 shards, then a round over the most shards
    // the program accepts, in pages of 14.
    v.ex.advance_clock(3_600).await;
    v.refresh_prices(BTC_PRICE).await?;
    let shards: Vec<u16> = (0..SHARDS).collect();
    v.ex.refresh_blockhash().await;
    let m = v.ex.send_metered(&[ix::update_funding(BTC, &shards)], &[]).await.map_err(err)?;
    out.insert("program_update_funding_cu_8_shards".into(), clearshard_units(&m)?.into());
    v.ex.add_shards(MAX_SHARDS - SHARDS).await;
    v.ex.advance_clock(3_600).await;
    v.refresh_prices(BTC_PRICE).await?;
    let shards: Vec<u16> = (0..MAX_SHARDS).collect();
    let mut round = 0;
    for page in shards.chunks(14) {
        v.ex.refresh_blockhash().await;
        let m = v.ex.send_metered(&[ix::update_funding(BTC, page)], &[]).await.map_err(err)?;
        round += clearshard_units(&m)?;
    }
    out.insert("program_update_funding_cu_max_shards".into(), round.into());
    out.insert("program_update_funding_pages_max_shards".into(), shards.chunks(14).count().into());
    if !v.ex.totals().await.conserved() {
        return Err("conservation broken during the bench".into());
    }
    Ok(out)
}

/// Where an instruction's units go, from the `cu-trace` binary's checkpoints:
/// `(phase, units)` in order. The handler opens with two checkpoints in a row,
/// whose difference is a checkpoint's own cost, subtracted from every phase.
fn split(m: &Metered, phases: &[&str]) -> Result<Vec<(String, u64)>, String> {
    let remaining: Vec<u64> = m
        .logs
        .iter()
        .filter_map(|l| l.strip_prefix("Program consumption: ")?.split(' ').next()?.parse().ok())
        .collect();
    let consumed = format!("Program {} consumed ", clearshard::ID);
    let (total, budget) = m
        .logs
        .iter()
        .find_map(|l| {
            let mut words = l.strip_prefix(&consumed)?.split(' ');
            let total: u64 = words.next()?.parse().ok()?;
            let budget: u64 = words.nth(1)?.parse().ok()?;
            Some((total, budget))
        })
        .ok_or("no clearshard invocation in the logs")?;
    if remaining.len() != phases.len() + 1 {
        return Err(format!("{} checkpoints for {} phases", remaining.len(), phases.len()));
    }
    let own = remaining[0] - remaining[1];
    let mut out = vec![("entry and Anchor account checks".to_string(), budget - remaining[0] - own)];
    for (phase, pair) in phases[..phases.len() - 1].iter().zip(remaining[1..].windows(2)) {
        out.push((phase.to_string(), pair[0] - pair[1] - own));
    }
    let end = budget - total;
    out.push((phases[phases.len() - 1].to_string(), remaining[remaining.len() - 1] - end));
    Ok(out)
}

/// The split of a 32-fill settle_batch and of a liquidation, on the
/// `cu-trace` binary in `dir`.
pub async fn measure_split(dir: &std::path::Path) -> Result<Map<String, Value>, String> {
    std::env::set_var("SBF_OUT_DIR", dir);
    let mut v = Venue::start().await?;
    let all: Vec<_> = v.accounts.iter().map(|(_, a)| *a).collect();
    v.settle(0, None, all.clone(), &workload(2 * (MAKERS + TAKERS), MAKERS, TAKERS)).await?;
    v.accrue_funding().await?;
    let m = v.settle(0, None, all, &workload(32, MAKERS, TAKERS)).await?;
    let phases = [
        "matcher, exchange and shard",
        "sequence, markets and oracles",
        "margin accounts",
        "engine",
        "booking into the shard",
        "event and exit",
    ];
    let mut out = Map::new();
    let settle: Map<String, Value> = split(&m, &phases)?.into_iter().map(|(p, u)| (p, u.into())).collect();
    out.insert("settle_batch_b32".into(), settle.into());
    let (liquidate, liquidator) = v.crashed_long().await?;
    let m = v.ex.send_metered(&[liquidate], &[&liquidator]).await.map_err(err)?;
    let phases = ["validation, markets and accounts", "engine", "booking into the shards", "event and exit"];
    let liquidation: Map<String, Value> = split(&m, &phases)?.into_iter().map(|(p, u)| (p, u.into())).collect();
    out.insert("liquidate".into(), liquidation.into());
    Ok(out)
}
