//! A reference model of funding, written apart from the engine in plain
//! 128-bit arithmetic: it sees only the fills the tests had accepted, their
//! oracle and the clock, never a shard or a crank. Whatever the crank's timing,
//! pages or caller, every rate the program sets must be the one it computes.

use clearshard::state::Market;
use clearshard_engine::MarketParams;
use std::collections::BTreeMap;

const PERIOD: i64 = 3_600;
const CAP_BPS: i128 = 50;

#[derive(Clone, Copy, Default, Debug)]
struct EpochFills {
    lots: i128,
    premium: i128,
    oracle_notional: i128,
}

/// Every accepted fill, summed by (market, funding epoch).
#[derive(Default)]
pub struct FundingReference {
    fills: BTreeMap<(u16, i64), EpochFills>,
    /// The last fill epoch each market's rounds completed, as last checked.
    completed: BTreeMap<u16, i64>,
}

impl FundingReference {
    /// Records one accepted fill of `lots` at `price` per lot, oracle `oracle` per lot, at `now`.
    pub fn fill(&mut self, market: u16, now: i64, lots: u64, price: u64, oracle: u64) {
        let e = self.fills.entry((market, now.div_euclid(PERIOD))).or_default();
        e.lots += i128::from(lots);
        e.premium += (i128::from(price) - i128::from(oracle)) * i128::from(lots);
        e.oracle_notional += i128::from(oracle) * i128::from(lots);
    }

    /// The rate the fills of `epoch` must set: their premium over at least
    /// the market's minimum volume, within 0.5% of their average oracle.
    pub fn rate(&self, market: u16, epoch: i64, params: &MarketParams) -> i64 {
        let f = self.fills.get(&(market, epoch)).copied().unwrap_or_default();
        if f.lots == 0 {
            return 0;
        }
        let cap = f.oracle_notional / f.lots * CAP_BPS / 10_000;
        let per_lot = f.premium / f.lots.max(i128::from(params.funding_min_volume_lots));
        per_lot.clamp(-cap, cap) as i64
    }

    /// After any step: a round that completed since the last check set the
    /// reference's rate for its epoch, and rounds only move forward.
    pub fn check(&mut self, markets: &[Market]) -> Result<(), String> {
        for m in markets {
            let f = &m.funding;
            let last = self.completed.insert(m.id, f.completed_epoch).unwrap_or(f.completed_epoch);
            if f.completed_epoch < last {
                return Err(format!("market {}: completed funding epoch went back from {last}", m.id));
            }
            if f.completed_epoch > last {
                let want = self.rate(m.id, f.completed_epoch, &m.params);
                if f.next_rate != want {
                    return Err(format!(
                        "market {}: the round for epoch {} set rate {}, the fills give {want}",
                        m.id, f.completed_epoch, f.next_rate
                    ));
                }
            }
        }
        Ok(())
    }
}
