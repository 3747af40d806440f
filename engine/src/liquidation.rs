//! Liquidation: a liquidator takes over part of an unhealthy account's
//! position at the oracle price, and the liquidatee pays a fee on it, shared
//! between the liquidator and the insurance fund.
//!
//! Taking `q` lots at the oracle moves cash and position value by equal
//! amounts, so the liquidatee's maintenance health changes only by the margin
//! it no longer needs minus the fee: `q · oracle · (mm − fee) / 10_000`. That
//! gives the smallest `q` that restores the account in closed form.

use crate::health::{mul_bps_ceil, MarketLookup, RiskMarket};
use crate::{EngineError, Portfolio, BPS};

/// What a liquidation moved. Money amounts are quote native units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Liquidation {
    /// Base lots that changed hands (positive).
    pub lots: u64,
    /// Oracle price per lot used.
    pub price: u64,
    /// Fee the liquidatee paid.
    pub fee: i64,
    /// The liquidator's part of the fee.
    pub reward: i64,
    /// The insurance fund's part of the fee.
    pub insurance: i64,
    pub maintenance_before: i128,
    pub maintenance_after: i128,
}

/// The most lots a liquidator may take of `liqee`'s position in `market_id`:
/// enough to bring maintenance health back above a buffer of a tenth of the
/// gap between its initial and maintenance requirements, never more than
/// the position.
pub fn liquidatable_lots(liqee: &Portfolio, markets: &[RiskMarket], market_id: u16) -> Result<u64, EngineError> {
    let health = liqee.health(markets)?;
    if health.maintenance >= 0 {
        return Err(EngineError::NotLiquidatable);
    }
    let position = liqee.position(market_id).ok_or(EngineError::NoPositionToLiquidate)?;
    let market = markets.risk_market(market_id).ok_or(EngineError::MissingMarket)?;
    let params = &market.params;
    let gain_bps = params.maintenance_margin_bps.saturating_sub(params.liquidation_fee_bps) as u128;
    let gain_per_lot_scaled = market.oracle_price as u128 * gain_bps; // × BPS
    if gain_per_lot_scaled == 0 {
        return Err(EngineError::InvalidOraclePrice);
    }
    let buffer = (health.maintenance - health.initial) / 10;
    let needed = (buffer - health.maintenance) as u128 * BPS as u128;
    let lots = needed.div_ceil(gain_per_lot_scaled);
    Ok(lots.min(position.base_lots.unsigned_abs() as u128) as u64)
}

/// Moves `lots` of `liqee`'s position in `market_id` to `liqor` at the oracle
/// price and books the fee. Refuses a healthy liquidatee, more than
/// [`liquidatable_lots`], and a liquidator left below initial margin.
pub fn liquidate(
    liqee: &mut Portfolio,
    liqor: &mut Portfolio,
    markets: &[RiskMarket],
    market_id: u16,
    lots: u64,
) -> Result<Liquidation, EngineError> {
    if lots == 0 {
        return Err(EngineError::ZeroQuantityOrPrice);
    }
    liqee.settle_funding(markets)?;
    liqor.settle_funding(markets)?;
    if lots > liquidatable_lots(liqee, markets, market_id)? {
        return Err(EngineError::LiquidationExceedsAllowed);
    }
    let market = markets.risk_market(market_id).ok_or(EngineError::MissingMarket)?;
    let before = liqee.health(markets)?;
    let price = market.oracle_price;
    let notional = crate::math::mul(lots, price)?;
    let notional = i64::try_from(notional).map_err(|_| EngineError::Overflow)?;
    let lots_signed = i64::try_from(lots).map_err(|_| EngineError::Overflow)?;
    let liqee_long = liqee.position(market_id).is_some_and(|p| p.base_lots > 0);
    // The liquidatee sells (if long) or buys back (if short); the liquidator takes the other side.
    let liqee_delta = if liqee_long { -lots_signed } else { lots_signed };
    // The fee never exceeds the equity left: liquidation must not itself turn
    // a solvent account bankrupt (an account already under water pays none).
    let fee = (mul_bps_ceil(notional as u64, market.params.liquidation_fee_bps as u64) as i64)
        .min(before.equity.clamp(0, i64::MAX as i128) as i64);
    let insurance = mul_bps_ceil(fee as u64, market.params.liquidation_insurance_share_bps as u64) as i64;
    let reward = fee - insurance;
    book(liqee, market_id, liqee_delta, price, notional, fee)?;
    book(liqor, market_id, -liqee_delta, price, notional, -reward)?;
    let after = liqee.health(markets)?;
    if after.maintenance <= before.maintenance {
        return Err(EngineError::LiquidationDidNotImprove);
    }
    if liqor.health(markets)?.initial < 0 {
        return Err(EngineError::LiquidatorUnderInitialMargin);
    }
    Ok(Liquidation {
        lots,
        price,
        fee,
        reward,
        insurance,
        maintenance_before: before.maintenance,
        maintenance_after: after.maintenance,
    })
}

/// One side of the transfer: position at `price`, cash, and `fee` (negative: received).
fn book(
    pf: &mut Portfolio,
    market_id: u16,
    delta: i64,
    price: u64,
    notional: i64,
    fee: i64,
) -> Result<(), EngineError> {
    let realized = pf.position_slot(market_id)?.trade(delta, price, notional)?;
    let cash = if delta > 0 { -notional } else { notional };
    pf.collateral = pf.collateral.checked_add(cash).and_then(|c| c.checked_sub(fee)).ok_or(EngineError::Overflow)?;
    pf.realized_pnl = pf.realized_pnl.saturating_add(realized);
    Ok(())
}

/// An account left with no position and negative collateral: its deficit.
pub fn bankruptcy_deficit(pf: &Portfolio) -> Result<u64, EngineError> {
    if pf.has_open_positions() || pf.collateral >= 0 {
        return Err(EngineError::NotBankrupt);
    }
    Ok(pf.collateral.unsigned_abs())
}

/// Spreads a deficit the insurance fund could not cover over `open_lots` (the
/// market's long plus short lots): the loss per lot, rounded up, and the dust
/// the rounding collects beyond the deficit (booked as fees).
pub fn socialized_loss_per_lot(deficit: u64, open_lots: u64) -> Result<(i64, u64), EngineError> {
    if open_lots == 0 {
        return Err(EngineError::NoOpenInterest);
    }
    let per_lot = deficit.div_ceil(open_lots);
    let collected = crate::math::mul(per_lot, open_lots)?;
    Ok((i64::try_from(per_lot).map_err(|_| EngineError::Overflow)?, collected - deficit))
}
