//! Capacity simulator: what sharding buys, measured. Fills arrive as Poisson
//! processes from traders against market makers (a few hot ones quote most of
//! the flow); the matcher routes and packs them with the real router and
//! packing code, keeps at most `window` batches per shard in flight, and a
//! leader model produces blocks under today's limits (see `ChainConfig`).
//! Transaction compute units come from the SBF program's measured figures
//! (`target/bench/results.json`), through `CostModel`.

mod flow;
mod leader;

pub use flow::Flow;
pub use leader::{Executed, Leader, Transaction};

use crate::packing::BatchShape;
use crate::router::{BatchTarget, Router};
use std::collections::{BTreeMap, VecDeque};

/// Solana block production as of late 2026; every figure can be changed.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ChainConfig {
    /// 400 (200 selectable).
    pub slot_ms: f64,
    /// Block compute limit: 100M (60M, 48M selectable).
    pub block_cu: u64,
    /// Most compute one writable account may take of a block: 40% (12M selectable).
    pub account_cu: u64,
    /// Banking threads executing in parallel.
    pub threads: usize,
    /// Share of each block other programs' traffic takes.
    pub other_traffic_share: f64,
    /// From sending to the leader having the transaction.
    pub send_ms: f64,
    /// From a block landing to the matcher seeing its batch in it (one slot:
    /// a matcher follows the leader's blocks as they are produced).
    pub confirm_ms: f64,
}

impl Default for ChainConfig {
    fn default() -> Self {
        ChainConfig {
            slot_ms: 400.0,
            block_cu: 100_000_000,
            account_cu: 40_000_000,
            threads: 4,
            other_traffic_share: 0.5,
            send_ms: 50.0,
            confirm_ms: 400.0,
        }
    }
}

/// Compute units of a batch transaction, fitted to measured figures.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct CostModel {
    pub base: f64,
    pub per_fill: f64,
    pub per_account: f64,
    pub per_market: f64,
    pub per_extra_shard: f64,
}

impl CostModel {
    /// Fits the model to `make bench`'s all-in settle_batch figures (b1: two
    /// accounts, one market; b8: 12 accounts; b32, b64 and the largest batch:
    /// 16 accounts; two markets from b8 on) and the cross-shard figure.
    pub fn from_results(results: &serde_json::Map<String, serde_json::Value>) -> Result<Self, String> {
        let get = |k: &str| results.get(k).and_then(|v| v.as_f64()).ok_or(format!("{k} missing: run `make bench`"));
        let (b1, b8, b32) = (
            get("program_settle_batch_cu_b1")?,
            get("program_settle_batch_cu_b8")?,
            get("program_settle_batch_cu_b32")?,
        );
        let (bmax, max) = (get("program_settle_batch_cu_bmax")?, get("program_max_batch_fills")?);
        let per_fill = (bmax - b32) / (max - 32.0);
        let per_market = 1_100.0;
        let per_account = (b8 - b1 - 7.0 * per_fill - per_market) / 10.0;
        let base = b32 - 32.0 * per_fill - 16.0 * per_account - 2.0 * per_market;
        let per_extra_shard = get("program_settle_cross_batch_cu_b32")? - b32;
        Ok(CostModel { base, per_fill, per_account, per_market, per_extra_shard: per_extra_shard.max(0.0) })
    }

    pub fn compute_units(&self, shape: &BatchShape) -> u64 {
        let cu = self.base
            + self.per_fill * shape.fills as f64
            + self.per_account * shape.margin_accounts as f64
            + self.per_market * shape.markets as f64
            + self.per_extra_shard * shape.shards.saturating_sub(1) as f64;
        cu.max(1.0) as u64
    }
}

/// One design of the venue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Design {
    pub shards: u16,
    /// Makers keep an account on every shard (else one, on shard 0).
    pub liquidity_shards: bool,
    /// Batches one matcher may have in flight per shard (the sequence window).
    pub window: usize,
    /// One global account written by every batch (the design before sharding).
    pub global_account: bool,
}

impl Design {
    pub fn unsharded(window: usize) -> Self {
        Design { shards: 1, liquidity_shards: false, window, global_account: true }
    }

    pub fn name(&self) -> String {
        if self.global_account {
            return format!("unsharded, W={}", self.window);
        }
        let ls = if self.liquidity_shards { "with" } else { "without" };
        format!("{} shards {ls} liquidity shards, W={}", self.shards, self.window)
    }
}

/// What limits a run, by the time transactions spent waiting for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Binding {
    /// The block's compute limit (the venue's share of it).
    Block,
    /// One writable account: its per-block limit, or its transactions
    /// running one after another.
    Account,
    /// Every execution thread busy.
    Threads,
    /// The matcher's batches in flight on a shard (the sequence window).
    InFlightWindow,
    /// Nothing: the offered load is carried.
    OfferedLoad,
}

impl Binding {}

/// Delays, in milliseconds, counted in buckets of one millisecond.
#[derive(Default)]
struct Histogram(Vec<u64>);

impl Histogram {
    fn add(&mut self, ms: f64, count: u64) {
        let bucket = ms.max(0.0) as usize;
        if self.0.len() <= bucket {
            self.0.resize(bucket + 1, 0);
        }
        self.0[bucket] += count;
    }

    fn quantile(&self, q: f64) -> f64 {
        let total: u64 = self.0.iter().sum();
        let mut seen = 0;
        for (ms, n) in self.0.iter().enumerate() {
            seen += n;
            if seen as f64 >= q * total as f64 && total > 0 {
                return ms as f64;
            }
        }
        0.0
    }
}

/// One run's outcome.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RunReport {
    pub design: Design,
    pub offered_fills_per_sec: f64,
    pub fills_per_sec: f64,
    /// Mean arrival-to-landing delay.
    pub mean_delay_ms: f64,
    pub p50_delay_ms: f64,
    pub p99_delay_ms: f64,
    /// Of the compute the venue may use (its share of blocks), what it used.
    pub block_share_used: f64,
    pub binding: Binding,
    /// Shares of capacity used: block (the venue's share), the busiest
    /// account, all threads.
    pub utilization: [(Binding, f64); 3],
    pub fills_per_transaction: f64,
    /// Batch transactions that landed per second.
    pub transactions_per_sec: f64,
}

/// The matcher's traffic for one run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RunConfig {
    pub offered_fills_per_sec: f64,
    /// Simulated seconds before measuring, and measured.
    pub warmup_secs: f64,
    pub measure_secs: f64,
    /// How often the matcher seals and sends batches.
    pub batch_interval_ms: f64,
    /// Most fills one batch carries (the packing limits bind first by default).
    pub max_fills_per_batch: usize,
    pub seed: u64,
}

impl RunConfig {
    pub fn at(offered_fills_per_sec: f64) -> Self {
        RunConfig {
            offered_fills_per_sec,
            warmup_secs: 5.0,
            measure_secs: 20.0,
            batch_interval_ms: 50.0,
            max_fills_per_batch: usize::MAX,
            seed: 7,
        }
    }
}

/// More fills than one batch transaction can carry (87 at the byte limit):
/// how many queued fills a free window slot takes in.
const FILLS_PER_BATCH_AT_MOST: usize = 96;

/// A sealed batch waiting to be sent, with its fills' arrival times.
struct Pending {
    shape: BatchShape,
    writes: Vec<u64>,
    arrivals: Vec<f64>,
}

/// Runs `design` on `chain` with the flow `flow` at `run`'s offered load.
pub fn run(chain: &ChainConfig, cost: &CostModel, flow: &Flow, design: &Design, run: &RunConfig) -> RunReport {
    let mut leader = Leader::new(chain);
    let mut rng = crate::rng::Rng::new(run.seed);
    let interval = run.batch_interval_ms / 1_000.0;
    let end = run.warmup_secs + run.measure_secs;
    let makers = flow.maker_book(design);
    let settlement = Router::new(makers.clone(), BTreeMap::new());
    let mut backlog: BTreeMap<u16, VecDeque<(crate::router::Trade, f64)>> = BTreeMap::new();
    let mut pending: BTreeMap<u16, VecDeque<Pending>> = BTreeMap::new();
    let mut in_flight: BTreeMap<u16, VecDeque<f64>> = BTreeMap::new();
    let mut next_arrival = rng.exponential(1.0 / run.offered_fills_per_sec);
    let (mut landed, mut transactions, mut fills_sent) = (0u64, 0u64, 0u64);
    let mut delays = Histogram::default();
    let mut delay_sum = 0.0;
    let mut window_waits = 0u64;
    let mut ticks = 0u64;
    let mut landed_transactions = 0u64;
    let global = u64::MAX;
    let mut now = 0.0;
    leader.measure(run.warmup_secs, end);
    while now < end {
        now += interval;
        // Fills that arrived since the last tick wait in their shard's queue.
        while next_arrival <= now {
            let trade = flow.trade(&mut rng, design);
            if let Ok((_, target)) = settlement.settlement(&trade) {
                backlog.entry(target.sequence_shard()).or_default().push_back((trade, next_arrival));
            }
            next_arrival += rng.exponential(1.0 / run.offered_fills_per_sec);
        }
        for flying in in_flight.values_mut() {
            while flying.front().is_some_and(|t| *t <= now) {
                flying.pop_front();
            }
        }
        // A shard's fills are batched only when its window has room: while it
        // is full, they wait and the next batches carry more of them.
        let mut router = Router::new(makers.clone(), BTreeMap::new()).with_max_fills(run.max_fills_per_batch);
        let mut arrivals: BTreeMap<BatchTarget, VecDeque<f64>> = BTreeMap::new();
        let mut routed = 0;
        for (shard, queue) in backlog.iter_mut() {
            let busy = in_flight.get(shard).map_or(0, VecDeque::len) + pending.get(shard).map_or(0, VecDeque::len);
            let room = design.window.saturating_sub(busy);
            for (trade, arrival) in queue.drain(..queue.len().min(room * FILLS_PER_BATCH_AT_MOST)) {
                if let Ok((_, target)) = router.settlement(&trade) {
                    if router.route(&trade).is_ok() {
                        arrivals.entry(target).or_default().push_back(arrival);
                        routed += 1;
                    }
                }
            }
            if !queue.is_empty() && now >= run.warmup_secs {
                window_waits += 1;
            }
        }
        if routed > 0 {
            for batch in router.finish() {
                let times = arrivals.entry(batch.target).or_default();
                let arrivals: Vec<f64> = (0..batch.shape.fills).filter_map(|_| times.pop_front()).collect();
                let mut writes: Vec<u64> = batch.target.shards().iter().map(|s| u64::from(*s)).collect();
                writes.extend(batch.plan.accounts.iter().map(Flow::account_id));
                if design.global_account {
                    writes.push(global);
                }
                pending.entry(batch.target.sequence_shard()).or_default().push_back(Pending {
                    shape: batch.shape,
                    writes,
                    arrivals,
                });
            }
        }
        // Send what each shard's window allows.
        let send_at = now + chain.send_ms / 1_000.0;
        for (shard, queue) in pending.iter_mut() {
            let flying = in_flight.entry(*shard).or_default();
            while flying.len() < design.window {
                let Some(batch) = queue.pop_front() else { break };
                let tx = Transaction { compute_units: cost.compute_units(&batch.shape), writes: &batch.writes };
                let lands = leader.execute(&tx, send_at).lands;
                if lands >= run.warmup_secs && lands < end {
                    landed_transactions += 1;
                }
                let confirmed = lands + chain.confirm_ms / 1_000.0;
                let at = flying.partition_point(|t| *t <= confirmed);
                flying.insert(at, confirmed);
                transactions += 1;
                fills_sent += batch.arrivals.len() as u64;
                if lands >= run.warmup_secs && lands < end {
                    landed += batch.arrivals.len() as u64;
                    for a in &batch.arrivals {
                        let ms = (lands - a) * 1_000.0;
                        delays.add(ms, 1);
                        delay_sum += ms;
                    }
                }
            }
        }
        if now >= run.warmup_secs {
            ticks += backlog.len() as u64;
        }
        leader.forget_before(now);
    }
    let fills_per_sec = landed as f64 / run.measure_secs;
    // The binding limit: the chain's limit nearest its capacity if one is
    // (nearly) full, else the window if batches waited on it, else none.
    let utilization = leader.utilization();
    let (fullest, share) =
        utilization.iter().copied().fold((Binding::OfferedLoad, 0.0), |a, b| if b.1 > a.1 { b } else { a });
    let binding = if fills_per_sec >= 0.97 * run.offered_fills_per_sec {
        Binding::OfferedLoad
    } else if share >= 0.9 {
        fullest
    } else if window_waits * 2 >= ticks {
        Binding::InFlightWindow
    } else {
        fullest
    };
    RunReport {
        design: *design,
        offered_fills_per_sec: run.offered_fills_per_sec,
        fills_per_sec,
        mean_delay_ms: if landed > 0 { delay_sum / landed as f64 } else { 0.0 },
        p50_delay_ms: delays.quantile(0.5),
        p99_delay_ms: delays.quantile(0.99),
        block_share_used: utilization[0].1,
        binding,
        utilization,
        fills_per_transaction: if transactions > 0 { fills_sent as f64 / transactions as f64 } else { 0.0 },
        transactions_per_sec: landed_transactions as f64 / run.measure_secs,
    }
}
