//! Health: collateral + Σ base·oracle − Σ |base·oracle| × margin ratio.
//!
//! One pass over the positions yields both the initial and the maintenance
//! figure. Sums are `i128`; products and ratios stay in `u64` with the
//! remainder trick, because `u128` division costs ~80 CU on SBF.

use crate::{EngineError, MarketParams, Portfolio, BPS};

/// What health needs of a market: its id, parameters and the oracle price per lot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RiskMarket {
    pub id: u16,
    pub params: MarketParams,
    pub oracle_price: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthKind {
    Initial,
    Maintenance,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Health {
    pub initial: i128,
    pub maintenance: i128,
}

impl Health {
    pub fn get(&self, kind: HealthKind) -> i128 {
        match kind {
            HealthKind::Initial => self.initial,
            HealthKind::Maintenance => self.maintenance,
        }
    }
}

/// `value × bps / 10_000`, rounded up, without leaving `u64`.
#[inline(always)]
pub fn mul_bps_ceil(value: u64, bps: u64) -> u64 {
    (value / BPS) * bps + ((value % BPS) * bps).div_ceil(BPS)
}

/// `value × bps / 10_000`, rounded down, without leaving `u64`.
#[inline(always)]
pub fn mul_bps_floor(value: u64, bps: u64) -> u64 {
    (value / BPS) * bps + (value % BPS) * bps / BPS
}

pub fn find_market(markets: &[RiskMarket], id: u16) -> Option<&RiskMarket> {
    markets.iter().find(|m| m.id == id)
}

impl Portfolio {
    /// Initial and maintenance health at the given oracle prices. Every open
    /// position's market must be among `markets`.
    pub fn health(&self, markets: &[RiskMarket]) -> Result<Health, EngineError> {
        let mut equity = self.collateral as i128;
        let mut initial_req: i128 = 0;
        let mut maintenance_req: i128 = 0;
        for p in self.positions.iter().filter(|p| p.is_open()) {
            let m = find_market(markets, p.market_id).ok_or(EngineError::MissingMarket)?;
            let value = p.base_lots.unsigned_abs().checked_mul(m.oracle_price).ok_or(EngineError::Overflow)?;
            equity += if p.base_lots > 0 { value as i128 } else { -(value as i128) };
            initial_req += mul_bps_ceil(value, m.params.initial_margin_bps as u64) as i128;
            maintenance_req += mul_bps_ceil(value, m.params.maintenance_margin_bps as u64) as i128;
        }
        Ok(Health { initial: equity - initial_req, maintenance: equity - maintenance_req })
    }

    /// The rule for anything that takes collateral out or adds risk on the
    /// owner's request (withdraw, transfer): initial health stays >= 0.
    pub fn check_initial_health(&self, markets: &[RiskMarket]) -> Result<(), EngineError> {
        if self.health(markets)?.initial < 0 {
            return Err(EngineError::Undercollateralized);
        }
        Ok(())
    }

    /// The settlement rule: initial health >= 0, or the change did not make
    /// initial health worse and maintenance health is still >= 0.
    pub fn passes_settlement_rule(before: &Health, after: &Health) -> bool {
        after.initial >= 0 || (after.initial >= before.initial && after.maintenance >= 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Position;

    fn market(id: u16, oracle: u64) -> RiskMarket {
        RiskMarket {
            id,
            oracle_price: oracle,
            params: MarketParams { initial_margin_bps: 1_000, maintenance_margin_bps: 500, ..Default::default() },
        }
    }

    #[test]
    fn long_and_short_health_at_oracle() {
        let mut pf = Portfolio { collateral: -9_000, ..Default::default() };
        pf.positions[0] = Position { market_id: 1, base_lots: 100, cost_basis: 10_000, ..Default::default() };
        pf.positions[3] = Position { market_id: 2, base_lots: -10, cost_basis: -500, ..Default::default() };
        let markets = [market(1, 110), market(2, 50)];
        // equity = -9000 + 11000 - 500 = 1500; init req = 1100 + 50; maint = 550 + 25
        assert_eq!(pf.health(&markets), Ok(Health { initial: 350, maintenance: 925 }));
        assert_eq!(pf.check_initial_health(&markets), Ok(()));
        assert_eq!(pf.health(&markets[..1]), Err(EngineError::MissingMarket));
    }

    #[test]
    fn ratio_math_rounds_requirements_up_and_never_overflows() {
        assert_eq!(mul_bps_ceil(10_001, 1_000), 1_001);
        assert_eq!(mul_bps_floor(10_001, 1_000), 1_000);
        assert_eq!(mul_bps_ceil(u64::MAX, 10_000), u64::MAX);
        assert_eq!(mul_bps_floor(u64::MAX, 5_000), u64::MAX / 2);
    }

    #[test]
    fn settlement_rule_allows_reducing_risk_between_init_and_maint() {
        let before = Health { initial: -100, maintenance: 50 };
        assert!(Portfolio::passes_settlement_rule(&before, &Health { initial: -50, maintenance: 60 }));
        assert!(!Portfolio::passes_settlement_rule(&before, &Health { initial: -150, maintenance: 10 }));
        assert!(!Portfolio::passes_settlement_rule(&before, &Health { initial: -50, maintenance: -1 }));
        assert!(Portfolio::passes_settlement_rule(&before, &Health { initial: 0, maintenance: -1 }));
    }
}
