//! A trader's margin account on one shard, and the rule for collateral
//! leaving it.

use crate::errors::ClearshardError;
use anchor_lang::prelude::*;
use clearshard_engine::{EngineError, Portfolio, RiskMarket};

/// A trader's margin account on one shard. A market maker keeps one per
/// shard it quotes on (its liquidity shards).
///
/// Layout (840 bytes): owner 32, shard 2, sub id 2, bump 1, padding 3,
/// portfolio 800 (collateral, realized PnL, limits, cost window, exit
/// request, liquidation losses, settlement gains and recoveries per market,
/// the pledge, 8 positions).
#[account(zero_copy)]
#[derive(Debug)]
pub struct MarginAccount {
    pub owner: Pubkey,
    pub shard: u16,
    pub sub_id: u16,
    pub bump: u8,
    pub _padding: [u8; 3],
    pub portfolio: Portfolio,
}
const _: () = assert!(core::mem::size_of::<MarginAccount>() == 840);

impl MarginAccount {
    pub const SPACE: usize = 8 + core::mem::size_of::<MarginAccount>();

    /// Takes `amount` out of collateral (a withdrawal or a transfer out) under
    /// the withdrawal rule: without positions the balance stays non-negative;
    /// with positions, funding and loss are settled and initial health stays
    /// non-negative at `markets` (every market held, fresh: see
    /// [`MarginAccount::markets_needed`]). Returns the accruals settled
    /// (already in collateral).
    pub fn take_collateral(&mut self, amount: i64, markets: &[RiskMarket]) -> Result<i64> {
        let portfolio = &mut self.portfolio;
        portfolio.credit(amount.checked_neg().ok_or(ClearshardError::MathOverflow)?).map_err(ClearshardError::from)?;
        if !portfolio.has_open_positions() {
            require!(portfolio.collateral >= 0, ClearshardError::InsufficientCollateral);
            return Ok(0);
        }
        let accruals = portfolio.settle_funding(markets).map_err(ClearshardError::from)?;
        portfolio.check_initial_health(markets).map_err(|e| match e {
            EngineError::Undercollateralized => error!(ClearshardError::BreaksInitialMargin),
            other => ClearshardError::from(other).into(),
        })?;
        Ok(accruals)
    }

    /// Whether taking collateral out needs market prices: only with positions.
    pub fn markets_needed(&self) -> bool {
        self.portfolio.has_open_positions()
    }
}
