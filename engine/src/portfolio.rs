//! The risk state of one margin account: collateral, limits and positions.
//!
//! Collateral is the account's quote balance (as in dYdX v4): deposits minus
//! withdrawals and fees, plus the cash flow of every fill (buying q lots at p
//! pays q·p, selling receives it). A fill therefore moves collateral between
//! two accounts and never creates any, and equity is collateral + Σ base·oracle.

use crate::{EngineError, Position, TradeLimits};
use bytemuck::{Pod, Zeroable};

pub const MAX_POSITIONS: usize = 8;

/// 368 bytes, embedded in the on-chain `MarginAccount`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Portfolio {
    /// Quote balance in native units; negative while a long is financed.
    pub collateral: i64,
    /// Running total of PnL realized against cost basis (reporting only).
    pub realized_pnl: i64,
    pub limits: TradeLimits,
    pub positions: [Position; MAX_POSITIONS],
}
const _: () = assert!(core::mem::size_of::<Portfolio>() == 368);

impl Portfolio {
    /// The open position in `market_id`, or a free slot assigned to it.
    #[inline(always)]
    pub fn position_slot(&mut self, market_id: u16) -> Result<&mut Position, EngineError> {
        let mut free = None;
        for (i, p) in self.positions.iter().enumerate() {
            if p.is_open() {
                if p.market_id == market_id {
                    free = Some(i);
                    break;
                }
            } else if free.is_none() {
                free = Some(i);
            }
        }
        let slot = free.ok_or(EngineError::PositionSlotsFull)?;
        let position = &mut self.positions[slot];
        position.market_id = market_id;
        Ok(position)
    }

    pub fn position(&self, market_id: u16) -> Option<&Position> {
        self.positions.iter().find(|p| p.is_open() && p.market_id == market_id)
    }

    pub fn has_open_positions(&self) -> bool {
        self.positions.iter().any(Position::is_open)
    }

    /// Settles funding and socialized loss on every open position at the
    /// markets' indexes; returns the total paid (negative: received), already
    /// taken from collateral.
    pub fn settle_funding<M: crate::MarketLookup + ?Sized>(&mut self, markets: &M) -> Result<i64, EngineError> {
        let mut paid: i64 = 0;
        for p in self.positions.iter_mut().filter(|p| p.is_open()) {
            let m = markets.risk_market(p.market_id).ok_or(EngineError::MissingMarket)?;
            let owed = p.settle_accruals(m.cumulative_funding, m.cumulative_loss)?;
            paid = paid.checked_add(owed).ok_or(EngineError::Overflow)?;
        }
        self.collateral = self.collateral.checked_sub(paid).ok_or(EngineError::Overflow)?;
        Ok(paid)
    }

    /// Adds a signed amount to collateral (deposits, withdrawals, transfers).
    pub fn credit(&mut self, amount: i64) -> Result<(), EngineError> {
        self.collateral = self.collateral.checked_add(amount).ok_or(EngineError::Overflow)?;
        Ok(())
    }
}
