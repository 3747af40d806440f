//! The router: turns a stream of matched trades into shard batches packed to
//! the transaction limits, and orders them into waves whose transactions
//! write no common account, so that a whole wave can be in flight at once.
//!
//! A fill settles on the taker's shard against the maker's liquidity account
//! there. Only when the maker has no account on that shard does the fill go
//! to a cross-shard batch (taker's shard and the maker's first shard).
//!
//! Settlement checks the health of every account in a batch, which needs the
//! market of every position the account holds: the router tracks the markets
//! each account holds (seeded with [`Router::hold`], grown by every routed
//! fill) and puts them all in the account's batch.

use crate::instructions::BatchPlan;
use crate::packing::BatchShape;
use anchor_lang::prelude::Pubkey;
use clearshard_engine::{Fill, MAX_BATCH_MARKETS};
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountRef {
    pub address: Pubkey,
    pub shard: u16,
}

/// A matched trade, as the matching engine reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trade {
    pub taker: AccountRef,
    /// Index of the maker in the router's maker book.
    pub maker: usize,
    pub market: u16,
    pub taker_buys: bool,
    pub lots: u32,
    pub ticks: u32,
}

/// Where a batch settles: one shard, or two (lower index first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BatchTarget {
    Shard(u16),
    Cross(u16, u16),
}

impl BatchTarget {
    pub fn shards(&self) -> Vec<u16> {
        match *self {
            BatchTarget::Shard(s) => vec![s],
            BatchTarget::Cross(a, b) => vec![a, b],
        }
    }

    /// The shard whose sequence the batch consumes.
    pub fn sequence_shard(&self) -> u16 {
        self.shards()[0]
    }
}

/// A sealed batch, ready to post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutedBatch {
    pub target: BatchTarget,
    pub plan: BatchPlan,
    pub shape: BatchShape,
}

#[derive(Default)]
struct OpenBatch {
    accounts: Vec<Pubkey>,
    index: HashMap<Pubkey, u8>,
    markets: Vec<u16>,
    fills: Vec<u8>,
}

impl OpenBatch {
    fn shape_with(&self, target: BatchTarget, new_accounts: usize, new_markets: usize) -> BatchShape {
        BatchShape {
            shards: target.shards().len(),
            markets: self.markets.len() + new_markets,
            margin_accounts: self.accounts.len() + new_accounts,
            fills: self.fills.len() / clearshard_engine::FILL_LEN + 1,
        }
    }

    fn slot_of(&mut self, address: Pubkey) -> u8 {
        if let Some(i) = self.index.get(&address) {
            return *i;
        }
        let i = self.accounts.len() as u8;
        self.accounts.push(address);
        self.index.insert(address, i);
        i
    }
}

pub struct Router {
    /// Each maker's liquidity accounts, by shard.
    makers: Vec<BTreeMap<u16, Pubkey>>,
    /// Markets each account holds a position in (may include closed ones).
    held: HashMap<Pubkey, BTreeSet<u16>>,
    next_sequence: BTreeMap<u16, u64>,
    open: BTreeMap<BatchTarget, OpenBatch>,
    sealed: Vec<RoutedBatch>,
    /// Most fills one batch carries, below what the transaction limits allow.
    max_fills: usize,
}

impl Router {
    /// `makers[i]`: maker `i`'s accounts as `(shard, address)`; `next_sequence`:
    /// the matcher's next sequence on each shard, as read from chain.
    pub fn new(makers: Vec<Vec<(u16, Pubkey)>>, next_sequence: BTreeMap<u16, u64>) -> Self {
        Router {
            makers: makers.into_iter().map(|m| m.into_iter().collect()).collect(),
            held: HashMap::new(),
            next_sequence,
            open: BTreeMap::new(),
            sealed: vec![],
            max_fills: usize::MAX,
        }
    }

    /// Seals a batch once it holds `max_fills` fills (the simulator's
    /// one-fill batches; matchers that want lower latency than full batches).
    pub fn with_max_fills(mut self, max_fills: usize) -> Self {
        self.max_fills = max_fills.max(1);
        self
    }

    /// Where `trade` settles: its maker's account on the taker's shard, or a
    /// cross-shard batch with the maker's first account when it has none there.
    pub fn settlement(&self, trade: &Trade) -> Result<(Pubkey, BatchTarget), String> {
        let book = self.makers.get(trade.maker).ok_or_else(|| format!("unknown maker {}", trade.maker))?;
        Ok(match book.get(&trade.taker.shard) {
            Some(address) => (*address, BatchTarget::Shard(trade.taker.shard)),
            None => {
                let (shard, address) = book.iter().next().ok_or("maker without accounts")?;
                let (a, b) = (trade.taker.shard.min(*shard), trade.taker.shard.max(*shard));
                (*address, BatchTarget::Cross(a, b))
            }
        })
    }

    /// Records that `account` already holds positions in `markets` (from chain).
    pub fn hold(&mut self, account: Pubkey, markets: &[u16]) {
        self.held.entry(account).or_default().extend(markets);
    }

    pub fn route(&mut self, trade: &Trade) -> Result<(), String> {
        let (maker, target) = self.settlement(trade)?;
        for account in [trade.taker.address, maker] {
            self.held.entry(account).or_default().insert(trade.market);
        }
        // Every market the two accounts hold must be in their batch.
        let mut needed: BTreeSet<u16> = BTreeSet::new();
        for account in [trade.taker.address, maker] {
            needed.extend(self.held.get(&account).into_iter().flatten());
        }
        let open = self.open.entry(target).or_default();
        let new_accounts = [trade.taker.address, maker].iter().filter(|a| !open.index.contains_key(a)).count();
        let new_markets = needed.iter().filter(|m| !open.markets.contains(m)).count();
        if needed.len() > MAX_BATCH_MARKETS {
            return Err(format!("a fill needs {} markets; a batch carries {MAX_BATCH_MARKETS}", needed.len()));
        }
        if open.markets.len() + new_markets > MAX_BATCH_MARKETS
            || open.fills.len() / clearshard_engine::FILL_LEN >= self.max_fills
            || !open.shape_with(target, new_accounts, new_markets).fits()
        {
            self.seal(target);
        }
        let open = self.open.entry(target).or_default();
        for market in &needed {
            if !open.markets.contains(market) {
                open.markets.push(*market);
            }
        }
        let slot = open.markets.iter().position(|m| *m == trade.market).ok_or("market slot")?;
        let fill = Fill {
            taker: open.slot_of(trade.taker.address),
            maker: open.slot_of(maker),
            market_slot: slot as u8,
            taker_buys: trade.taker_buys,
            quantity_lots: trade.lots,
            price_ticks: trade.ticks,
        };
        open.fills.extend_from_slice(&fill.encode());
        Ok(())
    }

    fn seal(&mut self, target: BatchTarget) {
        let Some(open) = self.open.remove(&target) else { return };
        if open.fills.is_empty() {
            return;
        }
        let sequence = self.next_sequence.entry(target.sequence_shard()).or_insert(0);
        let plan = BatchPlan { sequence: *sequence, markets: open.markets, accounts: open.accounts, fills: open.fills };
        *sequence += 1;
        let shape = BatchShape {
            shards: target.shards().len(),
            markets: plan.markets.len(),
            margin_accounts: plan.accounts.len(),
            fills: plan.fills.len() / clearshard_engine::FILL_LEN,
        };
        self.sealed.push(RoutedBatch { target, plan, shape });
    }

    /// Seals every open batch and returns all batches in sequence order.
    pub fn finish(mut self) -> Vec<RoutedBatch> {
        let targets: Vec<BatchTarget> = self.open.keys().copied().collect();
        for target in targets {
            self.seal(target);
        }
        self.sealed
    }
}

/// Orders batches into waves: a batch goes one wave after the last earlier
/// batch it shares a written account with (a shard or a margin account), so
/// each shard's sequences stay in order and a wave can be sent at once.
pub fn schedule(batches: &[RoutedBatch]) -> Vec<Vec<usize>> {
    let writes: Vec<BTreeSet<Pubkey>> = batches
        .iter()
        .map(|b| {
            let shards = b.target.shards().into_iter().map(crate::pda::shard);
            shards.chain(b.plan.accounts.iter().copied()).collect()
        })
        .collect();
    let mut wave_of = vec![0usize; batches.len()];
    for i in 0..batches.len() {
        wave_of[i] = (0..i).filter(|j| !writes[i].is_disjoint(&writes[*j])).map(|j| wave_of[j] + 1).max().unwrap_or(0);
    }
    let mut waves = vec![vec![]; wave_of.iter().max().map_or(0, |w| w + 1)];
    for (i, w) in wave_of.iter().enumerate() {
        waves[*w].push(i);
    }
    waves
}
