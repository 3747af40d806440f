//! Stateful random testing through the program: seeded random sequences of
//! every instruction on the in-process bank with 8 shards, by honest traders,
//! a market maker on several liquidity shards, a liquidator that chooses the
//! order of markets (and a keeper that sweeps the other liquidatable
//! accounts and socializes each bankruptcy it leaves), a self-dealing pair of owners (also trading with no matcher, off
//! the book), a malicious matcher (random fills, replays, gaps, bystanders)
//! and a griefer (permissionless instructions with chosen
//! accounts, and valid instructions with one account swapped, and tries to
//! wind live markets down and close positions in them). In a quarter of
//! the cases the matcher falls silent at a random step of the second half
//! (now and then with the feeds): every market winds down, anyone closes
//! every position in random order, the world goes on, and at the end every
//! owner withdraws its whole collateral (`stateful/wind_down.rs`). After every
//! step the invariants are checked, among them that every funding rate set is
//! the one a reference model computes from the accepted fills alone (crank
//! pages come at random moments: the clock now and then jumps half an
//! epoch). At the end of each case every owner must be able to leave: after
//! a keeper books every account and rebalances, each vault holds its
//! accounts' equity. A failure prints the seed that replays it:
//!
//! `STATEFUL_SEED=<seed> cargo test -p clearshard-tests --test stateful`
//!
//! `STATEFUL_CASES=<n>` sets the number of cases (256 by default, split over
//! four tests that run in parallel), `STATEFUL_STEPS=<n>` the steps of each (40).

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use clearshard::errors::ClearshardError;
use clearshard::instructions::MatcherLimits;
use clearshard::state::{Market, PAUSE_ALL, PAUSE_GAP_SECS, PAUSE_WITHDRAWALS};
use clearshard_client::bank::{error_code, Snapshot, Trader};
use clearshard_client::rng::Rng;
use clearshard_client::{instructions as ix, pda};
use clearshard_engine::funding::{epoch_of, FUNDING_PERIOD_SECS};
use clearshard_engine::liquidation::liquidatable_lots;
use clearshard_engine::{Fill, SequenceStatus, SequenceWindow, SEQUENCE_WINDOW};
use clearshard_tests::invariants::*;
use clearshard_tests::pause_rule::PauseRule;
use clearshard_tests::reference::FundingReference;
use clearshard_tests::*;
use solana_program_test::BanksClientError;
use solana_signer::Signer;
use std::collections::BTreeMap;

#[path = "stateful/checks.rs"]
mod checks;
#[path = "stateful/griefer.rs"]
mod griefer;
#[path = "stateful/owners.rs"]
mod owners;
#[path = "stateful/pauses.rs"]
mod pauses;
#[path = "stateful/risk.rs"]
mod risk;
#[path = "stateful/trading.rs"]
mod trading;
#[path = "stateful/wind_down.rs"]
mod wind_down;

const SHARDS: u16 = 8;
const STEPS: usize = 40;
const MARKETS: [u16; 2] = [BTC, ETH];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Honest,
    Maker,
    Liquidator,
    /// One of the two self-dealing owners: they trade and liquidate only
    /// each other, at the oracle, so their positions are always opposite.
    Pair,
}

struct Actor {
    account: Account,
    role: Role,
}

/// What each kind of step did over a run: tried, and accepted.
type Tally = BTreeMap<&'static str, (u32, u32)>;

struct World {
    v: Venue,
    rng: Rng,
    actors: Vec<Actor>,
    /// Prices in thousandths of the starting price, per market.
    prices: [i64; 2],
    /// Wallet tokens the pair minted at the start, and what the insurance
    /// fund or socialization covered of their bankruptcies.
    pair_minted: i128,
    pair_covered: i128,
    /// The last accepted batch and the shard whose sequence it used.
    last_batch: Option<(Instruction, u16)>,
    /// Every accepted fill, for the funding rates the program must set.
    funding: FundingReference,
    /// Every market's loss index at the last check.
    loss_indexes: Vec<i64>,
    /// The insurance fund's debt at the last check.
    fund_debt: u64,
    /// Every shard's vault balance, and whether its withdrawals were
    /// paused, at the last check.
    vaults: Vec<u64>,
    withdrawals_paused: Vec<bool>,
    /// The accounts that had asked to exit at the last check.
    exiting: Vec<(Pubkey, clearshard_engine::Portfolio)>,
    /// What `set_pause` must accept.
    pauses: PauseRule,
    log: Vec<String>,
    tally: Tally,
}

fn trader(a: &Account) -> Trader {
    a.trader.clone()
}

impl World {
    async fn new(seed: u64) -> World {
        let mut v = Venue::seeded(SHARDS, seed).await;
        let mut rng = Rng::new(seed);
        // A small fund: bankruptcies soon outgrow it and losses get socialized.
        v.ex.fund_insurance(USDC).await;
        let mut actors = vec![];
        for _ in 0..6 {
            let shard = rng.range(0, u64::from(SHARDS)) as u16;
            let account = v.account(shard, rng.range(20, 400) * USDC).await;
            actors.push(Actor { account, role: Role::Honest });
        }
        let maker = v.ex.trader(60_000 * USDC).await;
        for shard in [0u16, 3, 5] {
            let account = v.account_of(maker.clone(), shard, 20_000 * USDC).await;
            actors.push(Actor { account, role: Role::Maker });
        }
        let account = v.account(0, 50_000 * USDC).await;
        actors.push(Actor { account, role: Role::Liquidator });
        for shards in [[1u16, 2], [2, 3]] {
            let owner = v.ex.trader(1_000 * USDC).await;
            for shard in shards {
                let account = v.account_of(owner.clone(), shard, 400 * USDC).await;
                actors.push(Actor { account, role: Role::Pair });
            }
        }
        let pair_minted = 2 * 1_000 * USDC as i128;
        World {
            v,
            rng,
            actors,
            prices: [1_000, 1_000],
            pair_minted,
            pair_covered: 0,
            last_batch: None,
            funding: FundingReference::default(),
            loss_indexes: vec![0; MARKETS.len()],
            fund_debt: 0,
            vaults: vec![],
            withdrawals_paused: vec![],
            exiting: vec![],
            pauses: PauseRule::default(),
            log: vec![],
            tally: Tally::new(),
        }
    }

    fn with_role(&self, role: Role) -> Vec<usize> {
        (0..self.actors.len()).filter(|i| self.actors[*i].role == role).collect()
    }

    fn traders(&self) -> Vec<usize> {
        (0..self.actors.len()).filter(|i| matches!(self.actors[*i].role, Role::Honest | Role::Maker)).collect()
    }

    fn oracle_ticks(&self, slot: usize) -> u32 {
        let start = [BTC_TICKS, ETH_TICKS][slot];
        (i64::from(start) * self.prices[slot] / 1_000) as u32
    }

    fn note(&mut self, kind: &'static str, what: String, result: &Result<(), BanksClientError>) {
        let entry = self.tally.entry(kind).or_default();
        entry.0 += 1;
        entry.1 += u32::from(result.is_ok());
        let outcome = match result {
            Ok(()) => "ok".to_string(),
            Err(e) => format!("refused {:?}", error_code(e)),
        };
        self.log.push(format!("{kind}: {what} -> {outcome}"));
    }

    /// One random step; returns the accounts it touched if it succeeded.
    async fn step(&mut self) -> Result<Vec<Pubkey>, String> {
        let roll = self.rng.range(0, 100);
        match roll {
            0..=13 => self.honest_batch().await,
            14..=20 => self.leverage_up().await,
            21..=23 => self.pair_batch().await,
            24..=26 => self.owner_trade().await,
            27..=29 => self.replay().await,
            30..=43 => self.price_move().await,
            44..=48 => self.funding().await,
            49..=58 => self.liquidation().await,
            59..=63 => self.bankruptcy().await,
            64..=68 => self.rebalance().await,
            69..=76 => self.collateral().await,
            77..=79 => self.limits().await,
            80..=91 => self.swapped_account().await,
            92..=94 => self.settle_account().await,
            95..=96 => self.griefer_wind_down().await,
            _ => self.pause().await,
        }
    }
}

async fn run_case(seed: u64, tally: &mut Tally) -> Result<(), String> {
    let mut world = World::new(seed).await;
    let mut sequences_before = world.check(&[], &[]).await.map_err(|e| format!("seed {seed} at setup: {e}"))?;
    // A quarter of the cases lose their matcher at a random step of their
    // second half (the first keeps the batches' own coverage).
    let half = steps() as u64 / 2;
    // (Drawn apart from the world's own draws, which stay as they were.)
    let mut fate = clearshard_client::rng::Rng::new(seed ^ 0x0051_1E47);
    let silent_at = fate.chance(25).then(|| fate.range(half, half.max(1) * 2) as usize);
    for step in 0..steps() {
        let stepped = match silent_at == Some(step) {
            true => world.matcher_goes_silent().await,
            false => world.step().await,
        };
        let checked = match stepped {
            Ok(touched) => world.check(&touched, &sequences_before).await,
            Err(e) => Err(e),
        };
        match checked {
            Ok(now) => sequences_before = now,
            Err(cause) => {
                let recent = world.log.iter().rev().take(12).rev().cloned().collect::<Vec<_>>().join("\n  ");
                return Err(format!(
                    "seed {seed}, step {step}: {cause}\n  last steps:\n  {recent}\n  replay: STATEFUL_SEED={seed} cargo test -p clearshard-tests --test stateful"
                ));
            }
        }
    }
    let left = match world.every_owner_can_leave().await {
        Ok(()) if silent_at.is_some() => world.every_owner_withdraws_everything().await,
        other => other,
    };
    if let Err(cause) = left {
        return Err(format!(
            "seed {seed}, at the end: {cause}\n  replay: STATEFUL_SEED={seed} cargo test -p clearshard-tests --test stateful"
        ));
    }
    for (kind, (tried, accepted)) in world.tally {
        let entry = tally.entry(kind).or_default();
        entry.0 += tried;
        entry.1 += accepted;
    }
    Ok(())
}

fn steps() -> usize {
    std::env::var("STATEFUL_STEPS").ok().and_then(|n| n.parse().ok()).unwrap_or(STEPS)
}

fn cases() -> u64 {
    std::env::var("STATEFUL_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256)
}

/// Runs this test's share of the cases (or the one seed asked for).
async fn run_share(share: u64) {
    let seeds: Vec<u64> = match std::env::var("STATEFUL_SEED").ok().and_then(|s| s.parse().ok()) {
        Some(seed) if share == 0 => vec![seed],
        Some(_) => vec![],
        None => (0..cases()).filter(|n| n % 4 == share).map(|n| 0x5EED_0000 + n).collect(),
    };
    let mut tally = Tally::new();
    for seed in &seeds {
        if let Err(failure) = run_case(*seed, &mut tally).await {
            panic!("{failure}");
        }
    }
    println!("{} cases; steps tried / accepted:", seeds.len());
    for (kind, (tried, accepted)) in &tally {
        println!("  {kind:<24} {tried:>6} {accepted:>6}");
    }
    // Every kind of step that can succeed must have succeeded somewhere:
    // a suite that only sees refusals tests nothing.
    if seeds.len() >= 32 {
        let kinds = [
            "honest batch",
            "leverage up",
            "pair batch",
            "funding",
            "liquidate",
            "rebalance_vaults",
            "withdraw",
            "every owner can leave",
            "wind_down_market",
            "close_at_settlement",
            "withdraw everything",
            "finalize_wind_down",
            "claim_settlement_gain",
            "request_exit",
        ];
        // Bankruptcies are rarer: required of long runs only.
        let rare: &[&str] = if seeds.len() >= 1_000 { &["resolve_bankruptcy", "socialize_loss"] } else { &[] };
        let windows = ["sequence ahead", "sequence into a hole"];
        for kind in
            kinds.into_iter().chain(["deposit", "transfer_collateral"]).chain(windows).chain(rare.iter().copied())
        {
            let accepted = tally.get(kind).map_or(0, |t| t.1);
            assert!(accepted > 0, "no {kind} was ever accepted in {} cases", seeds.len());
        }
    }
}

#[tokio::test]
async fn random_sequences_keep_every_invariant_0() {
    run_share(0).await;
}

#[tokio::test]
async fn random_sequences_keep_every_invariant_1() {
    run_share(1).await;
}

#[tokio::test]
async fn random_sequences_keep_every_invariant_2() {
    run_share(2).await;
}

#[tokio::test]
async fn random_sequences_keep_every_invariant_3() {
    run_share(3).await;
}
