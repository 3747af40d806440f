//! The leader's side of block production: transactions execute on a fixed
//! number of threads; two that write one account run one after the other;
//! each slot's block holds at most the block limit (less other programs'
//! share) and gives one writable account at most the account limit. A
//! transaction lands with the block of the slot it starts in.

use super::{Binding, ChainConfig};
use std::collections::HashMap;

/// A transaction as the leader sees it: compute units and written accounts
/// (small integers naming them).
pub struct Transaction<'a> {
    pub compute_units: u64,
    pub writes: &'a [u64],
}

/// When a transaction ran, and when the block holding it landed.
#[derive(Clone, Copy, Debug)]
pub struct Executed {
    pub start: f64,
    pub lands: f64,
}

pub struct Leader {
    slot_secs: f64,
    venue_cu_per_slot: u64,
    account_cu_per_slot: u64,
    /// Compute units one thread executes per second.
    thread_speed: f64,
    thread_free: Vec<f64>,
    account_free: HashMap<u64, f64>,
    /// Compute units the venue used in each slot, and each account.
    block_used: HashMap<u64, u64>,
    account_used: HashMap<(u64, u64), u64>,
    /// Slots whose block is closed, each pointing at a later slot that may
    /// have room (path-compressed): a backlog is skipped, not walked.
    closed: HashMap<u64, u64>,
    /// Compute units each account took, and all threads, since `measure_from`.
    account_total: HashMap<u64, u64>,
    busy_cu: u64,
    /// The measured slots: `measured.0..measured.1`.
    measured: (u64, u64),
}

impl Leader {
    pub fn new(chain: &ChainConfig) -> Self {
        let slot_secs = chain.slot_ms / 1_000.0;
        let venue = (chain.block_cu as f64 * (1.0 - chain.other_traffic_share)) as u64;
        Leader {
            slot_secs,
            venue_cu_per_slot: venue,
            account_cu_per_slot: chain.account_cu,
            // Together the threads execute one full block per slot.
            thread_speed: chain.block_cu as f64 / slot_secs / chain.threads as f64,
            thread_free: vec![0.0; chain.threads],
            account_free: HashMap::new(),
            block_used: HashMap::new(),
            account_used: HashMap::new(),
            closed: HashMap::new(),
            account_total: HashMap::new(),
            busy_cu: 0,
            measured: (0, u64::MAX),
        }
    }

    fn slot_of(&self, time: f64) -> u64 {
        (time / self.slot_secs) as u64
    }

    /// The first slot from `slot` on whose block is not closed.
    fn open_slot(&mut self, slot: u64) -> u64 {
        let mut open = slot;
        while let Some(next) = self.closed.get(&open) {
            open = *next;
        }
        let mut s = slot;
        while s != open {
            s = self.closed.insert(s, open).unwrap_or(open);
        }
        open
    }

    /// Schedules `tx` arriving at `arrival`.
    pub fn execute(&mut self, tx: &Transaction, arrival: f64) -> Executed {
        let accounts_free =
            tx.writes.iter().map(|a| self.account_free.get(a).copied().unwrap_or(0.0)).fold(0.0, f64::max);
        let ready = arrival.max(accounts_free);
        // The thread that can start it soonest; among those free already, the
        // one that became free last (leaves the long-idle ones for others).
        let thread = (0..self.thread_free.len())
            .min_by(|a, b| {
                let (fa, fb) = (self.thread_free[*a], self.thread_free[*b]);
                let (sa, sb) = (fa.max(ready), fb.max(ready));
                sa.total_cmp(&sb).then(fb.total_cmp(&fa))
            })
            .unwrap_or(0);
        let mut start = ready.max(self.thread_free[thread]);
        // Push into later slots until the block and every written account have room.
        loop {
            let slot = self.open_slot(self.slot_of(start));
            start = start.max(slot as f64 * self.slot_secs);
            let block = self.block_used.get(&slot).copied().unwrap_or(0);
            let account_full = tx.writes.iter().any(|a| {
                self.account_used.get(&(*a, slot)).copied().unwrap_or(0) + tx.compute_units > self.account_cu_per_slot
            });
            let block_full = block + tx.compute_units > self.venue_cu_per_slot;
            if !account_full && !block_full {
                break;
            }
            if block_full {
                // A block that cannot take this transaction is closed to the
                // rest (batches are of similar size).
                self.closed.insert(slot, slot + 1);
            }
            start = (slot + 1) as f64 * self.slot_secs;
        }
        let slot = self.slot_of(start);
        *self.block_used.entry(slot).or_default() += tx.compute_units;
        for a in tx.writes {
            *self.account_used.entry((*a, slot)).or_default() += tx.compute_units;
        }
        if (self.measured.0..self.measured.1).contains(&slot) {
            self.busy_cu += tx.compute_units;
            for a in tx.writes {
                *self.account_total.entry(*a).or_default() += tx.compute_units;
            }
        }
        let finish = start + tx.compute_units as f64 / self.thread_speed;
        self.thread_free[thread] = finish;
        for a in tx.writes {
            self.account_free.insert(*a, finish);
        }
        Executed { start, lands: (slot + 1) as f64 * self.slot_secs }
    }

    /// Forgets slots before `time` (their budgets can no longer be used).
    pub fn forget_before(&mut self, time: f64) {
        let slot = self.slot_of(time);
        self.block_used.retain(|s, _| *s + 1 >= slot);
        self.closed.retain(|s, _| *s + 1 >= slot);
        self.account_used.retain(|(_, s), _| *s + 1 >= slot);
    }

    /// Counts the use of the whole slots between `from` and `until`.
    pub fn measure(&mut self, from: f64, until: f64) {
        self.measured = ((from / self.slot_secs).ceil() as u64, (until / self.slot_secs) as u64);
    }

    /// How close each limit came to binding over `secs` measured seconds,
    /// as shares of its capacity: the venue's share of the block, the busiest
    /// account (its per-block limit, or its serial execution on one thread),
    /// and all threads.
    pub fn utilization(&self) -> [(Binding, f64); 3] {
        let slots = self.measured.1.saturating_sub(self.measured.0).max(1) as f64;
        let secs = slots * self.slot_secs;
        let hottest = self.account_total.values().copied().max().unwrap_or(0) as f64;
        let account = (hottest / (self.account_cu_per_slot as f64 * slots)).max(hottest / (self.thread_speed * secs));
        let threads = self.busy_cu as f64 / (self.thread_speed * self.thread_free.len() as f64 * secs);
        [
            (Binding::Block, self.busy_cu as f64 / (self.venue_cu_per_slot as f64 * slots)),
            (Binding::Account, account),
            (Binding::Threads, threads),
        ]
    }
}
