//! The exchange's accounts at one moment, and the conservation invariant
//! over them: what the tests check after every step and `clearshard status`
//! reports from a live cluster.

use anchor_lang::prelude::Pubkey;
use clearshard::state::{MarginAccount, Market, Shard};

/// Totals that the conservation invariant compares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub vault_tokens: u128,
    pub insurance_tokens: u128,
    /// Accounts' collateral, and the cash of wound-down markets' books.
    pub collateral: i128,
    pub fees: i128,
    /// The insurance fund's share of liquidation fees still in shard vaults.
    pub insurance_owed: i128,
    /// What the insurance fund owes shard vaults (`Shard::insurance_debt`).
    pub insurance_debt: i128,
    /// Funding and socialized loss accrued in the markets' indexes but not yet
    /// settled into collateral (positive: owed to accounts). Zero once every
    /// position settled.
    pub unsettled_funding: i128,
    pub net_base_lots: [i128; clearshard::state::MAX_MARKETS as usize],
}

impl Totals {
    /// Shard vault tokens = collateral + unsettled funding + fees + the
    /// insurance fund's share held in shards (the insurance vault holds the
    /// rest of the fund) − what the fund owes them, and every market nets
    /// to zero.
    pub fn conserved(&self) -> bool {
        self.vault_tokens as i128
            == self.collateral + self.unsettled_funding + self.fees + self.insurance_owed - self.insurance_debt
            && self.net_base_lots.iter().all(|n| *n == 0)
    }

    /// The insurance fund: its vault and its share still in shard vaults,
    /// less what it owes them (negative: the fund is in debt).
    pub fn insurance_fund(&self) -> i128 {
        self.insurance_tokens as i128 + self.insurance_owed - self.insurance_debt
    }
}

/// The exchange's accounts at one moment: what the invariants compare.
#[derive(Default)]
pub struct Snapshot {
    pub shards: Vec<Shard>,
    /// Tokens in each shard's vault, by shard index.
    pub vaults: Vec<u64>,
    pub insurance_tokens: u64,
    /// Markets by id.
    pub markets: Vec<Market>,
    pub margins: Vec<(Pubkey, MarginAccount)>,
    /// The cluster's clock when read: funding accrues by the second.
    pub now: i64,
}

impl Snapshot {
    pub fn totals(&self) -> Totals {
        let mut t = Totals { insurance_tokens: self.insurance_tokens as u128, ..Default::default() };
        for (shard, vault) in self.shards.iter().zip(&self.vaults) {
            t.vault_tokens += *vault as u128;
            t.fees += shard.markets.iter().map(|m| m.fees as i128).sum::<i128>();
            t.insurance_owed += shard.insurance_owed as i128;
            t.insurance_debt += shard.insurance_debt as i128;
        }
        // A wound-down market's book holds the other side of every position
        // closed at the settlement price.
        for market in &self.markets {
            t.collateral += market.wind_down_cash as i128;
            t.net_base_lots[market.id as usize] += market.wind_down_lots as i128;
        }
        for (_, margin) in &self.margins {
            t.collateral += margin.portfolio.collateral as i128;
            for p in margin.portfolio.positions.iter().filter(|p| p.is_open()) {
                let market = &self.markets[p.market_id as usize];
                t.net_base_lots[p.market_id as usize] += p.base_lots as i128;
                let funded_until = if market.is_wound_down() { self.now.min(market.wound_down_at) } else { self.now };
                let index = market.funding.index_at(funded_until).unwrap_or(p.funding_snapshot);
                let funding = index as i128 - p.funding_snapshot as i128;
                let loss = market.cumulative_loss as i128 - p.loss_snapshot as i128;
                t.unsettled_funding -= p.base_lots as i128 * funding;
                t.unsettled_funding -= p.base_lots.unsigned_abs() as i128 * loss;
            }
        }
        t
    }
}
