//! The risk state of one margin account: collateral, limits and positions.
//!
//! Collateral is the account's quote balance (as in dYdX v4): deposits minus
//! withdrawals and fees, plus the cash flow of every fill (buying q lots at p
//! pays q·p, selling receives it). A fill therefore moves collateral between
//! two accounts and never creates any, and equity is collateral + Σ base·oracle.

use crate::limits::CostWindow;
use crate::position::PositionChange;
use crate::{EngineError, Position, RiskMarket, TradeLimits};
use bytemuck::{Pod, Zeroable};

pub const MAX_POSITIONS: usize = 8;
/// Market ids are below this (the program lists at most this many markets).
pub const MAX_MARKETS: usize = 16;

crate::idl::on_chain_type! {
    /// 800 bytes, embedded in the on-chain `MarginAccount`: collateral 8,
    /// realized PnL 8, limits 48, cost window 16, exit request 8, liquidation
    /// losses 16 × 8, settlement gains and recoveries 2 × 16 × 8, the pledge
    /// 8, positions 8 × 40.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
    pub struct Portfolio {
        /// Quote balance in native units; negative while a long is financed.
        pub collateral: i64,
        /// Running total of PnL realized against cost basis (reporting only).
        pub realized_pnl: i64,
        pub limits: TradeLimits,
        /// Adverse execution cost charged by fills in the current window.
        pub cost_window: CostWindow,
        /// When the owner asked to be closed out (0: it did not). From then
        /// on fills may only reduce the account's positions, within the
        /// exit band whatever its limits; a market that leaves it open for
        /// the market's liveness timeout may be wound down by anyone.
        pub exit_requested_at: i64,
        /// What this account's liquidations realized against it, per market
        /// id, since it was last restored or made whole: where a deficit arose,
        /// so that a socialized loss lands on those markets in proportion.
        pub liquidation_losses: [u64; MAX_MARKETS],
        /// Gains of positions closed in wound-down markets, per market id,
        /// not yet paid: junior claims on the market's settlement pool,
        /// paid once the market is final, after the deficits that arose
        /// there. Not collateral, not margin, not counted by liquidation.
        pub settlement_gains: [u64; MAX_MARKETS],
        /// This account's deficit shares registered against wound-down
        /// markets' pools, per market id: paid towards its debt once the
        /// market is final, all at one rate.
        pub settlement_recoveries: [u64; MAX_MARKETS],
        /// What others covered of this account's debt while it held gains:
        /// those gains, when paid, go to the insurance fund first.
        pub pledged_to_fund: u64,
        pub positions: [Position; MAX_POSITIONS],
    }
}
const _: () = assert!(core::mem::size_of::<Portfolio>() == 800);

/// What booking one side of a trade did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Booking {
    pub position: PositionChange,
    /// Change of collateral: trade cash, fee and accruals together.
    pub collateral_change: i64,
}

impl Portfolio {
    /// Whether the owner asked to be closed out (see `exit_requested_at`).
    #[inline(always)]
    pub fn is_exiting(&self) -> bool {
        self.exit_requested_at != 0
    }

    /// Refuses a change that adds to an exiting account's position.
    #[inline(always)]
    pub fn require_exit_allows(&self, change: &PositionChange) -> Result<(), EngineError> {
        if self.is_exiting() && !change.reduces() {
            return Err(EngineError::ExitRequested);
        }
        Ok(())
    }

    /// Books one side of a trade: `delta` lots at `price` (`notional = |delta| ×
    /// price`) and `fee` (negative: received). The position settles its
    /// accruals at `market`'s indexes first (see `Position::trade`), so this
    /// is the only way — for fills and liquidations alike — that a position
    /// changes, and none can skip its funding or loss snapshot.
    #[inline(always)]
    pub fn book(
        &mut self,
        market: &RiskMarket,
        delta: i64,
        price: u64,
        notional: i64,
        fee: i64,
    ) -> Result<Booking, EngineError> {
        let overflow = EngineError::Overflow;
        let position = self.position_slot(market.id)?.trade(market, delta, price, notional)?;
        let cash = if delta > 0 { notional.checked_neg().ok_or(overflow)? } else { notional };
        let collateral_change = cash.checked_sub(fee).and_then(|c| c.checked_sub(position.accruals)).ok_or(overflow)?;
        self.collateral = self.collateral.checked_add(collateral_change).ok_or(overflow)?;
        self.realized_pnl = self.realized_pnl.saturating_add(position.realized);
        Ok(Booking { position, collateral_change })
    }

    /// Closes the whole position in `market` at its price (a wound-down
    /// market's settlement price), against the market's own book, with no
    /// fee: through [`Portfolio::book`], so accruals (frozen at the
    /// wind-down) settle into collateral first, as `settle_account` would
    /// have settled them: whether anyone did so before changes nothing. A
    /// loss against cost basis is paid in full; a gain against cost basis
    /// is held as a settlement gain instead of collateral, so that the
    /// deficits of the market's losers come out of its winners whatever the
    /// order of closes. The booking's collateral change excludes the gain
    /// held.
    ///
    /// Every losing close records its loss there, whatever the collateral
    /// left, so that where a later deficit arose does not depend on the
    /// order in which anyone closes the account's positions; the close that
    /// leaves the account flat and solvent forgets the records, which can
    /// then no longer become a deficit.
    pub fn close_at_price(&mut self, market: &RiskMarket) -> Result<Booking, EngineError> {
        let overflow = EngineError::Overflow;
        let lots = self.position(market.id).ok_or(EngineError::NoPositionToClose)?.base_lots;
        let size = lots.unsigned_abs();
        let notional = i64::try_from(crate::math::mul(size, market.oracle_price)?).map_err(|_| overflow)?;
        let mut booking = self.book(market, lots.checked_neg().ok_or(overflow)?, market.oracle_price, notional, 0)?;
        let result = booking.position.realized;
        if result > 0 {
            self.collateral = self.collateral.checked_sub(result).ok_or(overflow)?;
            booking.collateral_change = booking.collateral_change.checked_sub(result).ok_or(overflow)?;
            let slot = self.settlement_gains.get_mut(usize::from(market.id)).ok_or(EngineError::MissingMarket)?;
            *slot = slot.checked_add(result.unsigned_abs()).ok_or(overflow)?;
        } else if result < 0 {
            let recorded = self.liquidation_losses.get_mut(usize::from(market.id)).ok_or(EngineError::MissingMarket)?;
            *recorded = recorded.saturating_add(result.unsigned_abs());
        }
        if !self.has_open_positions() && self.collateral >= 0 {
            self.clear_liquidation_losses();
        }
        Ok(booking)
    }

    /// The settlement gain held in `market_id` (0: none).
    pub fn settlement_gain(&self, market_id: u16) -> u64 {
        self.settlement_gains.get(usize::from(market_id)).copied().unwrap_or(0)
    }

    /// The deficit share registered against `market_id`'s pool (0: none).
    pub fn settlement_recovery(&self, market_id: u16) -> u64 {
        self.settlement_recoveries.get(usize::from(market_id)).copied().unwrap_or(0)
    }

    /// Every settlement gain still held, at face (the most it can pay).
    pub fn settlement_gains_total(&self) -> Result<i64, EngineError> {
        let total = self.settlement_gains.iter().try_fold(0u64, |sum, g| sum.checked_add(*g));
        total.and_then(|t| i64::try_from(t).ok()).ok_or(EngineError::Overflow)
    }

    /// Every deficit share registered and not yet paid, at face.
    pub fn settlement_recoveries_total(&self) -> Result<u64, EngineError> {
        self.settlement_recoveries.iter().try_fold(0u64, |sum, r| sum.checked_add(*r)).ok_or(EngineError::Overflow)
    }

    /// Whether any settlement gain or recovery is still to be paid.
    pub fn holds_settlement_claims(&self) -> bool {
        self.settlement_gains.iter().chain(&self.settlement_recoveries).any(|c| *c > 0)
    }

    /// Registers `share` of this account's deficit against wound-down
    /// `market_id`'s pool.
    pub fn register_recovery(&mut self, market_id: u16, share: u64) -> Result<(), EngineError> {
        let slot = self.settlement_recoveries.get_mut(usize::from(market_id)).ok_or(EngineError::MissingMarket)?;
        *slot = slot.checked_add(share).ok_or(EngineError::Overflow)?;
        Ok(())
    }

    /// Pledges what others just covered of this account's debt (`covered`)
    /// against the gains it holds, up to their face.
    pub fn pledge_gains(&mut self, covered: u64) -> Result<(), EngineError> {
        let faces = self.settlement_gains.iter().try_fold(0u64, |sum, g| sum.checked_add(*g));
        let faces = faces.ok_or(EngineError::Overflow)?;
        self.pledged_to_fund = self.pledged_to_fund.saturating_add(covered).min(faces);
        Ok(())
    }

    /// Takes the account's gain and recovery in `market_id` (their faces),
    /// leaving none.
    pub fn take_settlement_claims(&mut self, market_id: u16) -> Result<(u64, u64), EngineError> {
        let id = usize::from(market_id);
        let gain = core::mem::take(self.settlement_gains.get_mut(id).ok_or(EngineError::MissingMarket)?);
        let recovery = core::mem::take(self.settlement_recoveries.get_mut(id).ok_or(EngineError::MissingMarket)?);
        Ok((gain, recovery))
    }

    /// Books what one market's pool paid: a gain of face `gain` paid
    /// `gain_paid` (the pledge takes its part for the fund first, and is
    /// used up by the face, so no later gain pays a pledge made against
    /// this one) and `recovery_paid`, into collateral. Returns what went to
    /// the fund.
    pub fn book_settlement_payout(
        &mut self,
        gain: u64,
        gain_paid: u64,
        recovery_paid: u64,
    ) -> Result<u64, EngineError> {
        let overflow = EngineError::Overflow;
        let to_fund = gain_paid.min(self.pledged_to_fund);
        self.pledged_to_fund = self.pledged_to_fund.saturating_sub(gain);
        let credited = gain_paid.saturating_sub(to_fund).checked_add(recovery_paid).ok_or(overflow)?;
        self.credit(i64::try_from(credited).map_err(|_| overflow)?)?;
        Ok(to_fund)
    }

    /// The markets whose liquidations realized a loss against this account,
    /// in ascending id, with that loss: where a deficit arose.
    pub fn loss_markets(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        (0u16..).zip(self.liquidation_losses.iter().copied()).filter(|(_, loss)| *loss > 0)
    }

    /// Forgets where past losses arose: the account was restored or made whole.
    pub fn clear_liquidation_losses(&mut self) {
        self.liquidation_losses = [0; MAX_MARKETS];
    }

    /// The open position in `market_id`, or a free slot assigned to it.
    #[inline(always)]
    pub(crate) fn position_slot(&mut self, market_id: u16) -> Result<&mut Position, EngineError> {
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
        self.settle_accruals(markets, false)
    }

    /// [`Portfolio::settle_funding`] for an account being liquidated: what
    /// each position pays is recorded as a loss in its market, since those
    /// markets' other sides received it, so that a deficit it causes is
    /// carried there rather than by the insurance fund alone.
    pub fn settle_funding_recording_losses<M: crate::MarketLookup + ?Sized>(
        &mut self,
        markets: &M,
    ) -> Result<i64, EngineError> {
        self.settle_accruals(markets, true)
    }

    fn settle_accruals<M: crate::MarketLookup + ?Sized>(
        &mut self,
        markets: &M,
        record: bool,
    ) -> Result<i64, EngineError> {
        let mut paid: i64 = 0;
        for p in self.positions.iter_mut().filter(|p| p.is_open()) {
            let m = markets.risk_market(p.market_id).ok_or(EngineError::MissingMarket)?;
            let owed = p.settle_accruals(m.cumulative_funding, m.cumulative_loss)?;
            paid = paid.checked_add(owed).ok_or(EngineError::Overflow)?;
            if record && owed > 0 {
                let loss = self.liquidation_losses.get_mut(usize::from(m.id)).ok_or(EngineError::MissingMarket)?;
                *loss = loss.saturating_add(owed.unsigned_abs());
            }
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
