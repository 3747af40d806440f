//! Liquidation: a liquidator takes over part of an unhealthy account's
//! position at the oracle price, and the liquidatee pays a fee on it, shared
//! between the liquidator and the insurance fund.
//!
//! Taking `q` lots at the oracle moves cash and position value by equal
//! amounts, so the liquidatee's maintenance health changes only by the margin
//! it no longer needs minus the fee: `q · oracle · (mm − fee) / 10_000`. That
//! gives the smallest `q` that restores the account in closed form.

use crate::health::{mul_bps_ceil, MarketLookup, RiskMarket};
use crate::portfolio::Booking;
use crate::portfolio::MAX_MARKETS;
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
    /// Each side's collateral change (trade cash, fee, funding and loss
    /// settled on every position) and position change in the market.
    pub liqee: Booking,
    pub liqor: Booking,
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
    let gain_bps = u128::from(params.maintenance_margin_bps.saturating_sub(params.liquidation_fee_bps));
    let gain_per_lot_scaled = u128::from(market.oracle_price).saturating_mul(gain_bps); // × BPS
    if gain_per_lot_scaled == 0 {
        return Err(EngineError::InvalidOraclePrice);
    }
    // Health figures are sums of i64 terms: these stay far inside i128.
    let overflow = EngineError::Overflow;
    // The buffer is the market's, not the circuit breaker's: liquidation
    // amounts do not move with a jump.
    let initial = health.initial.checked_add(health.jump_gain).ok_or(overflow)?;
    let buffer = health.maintenance.checked_sub(initial).ok_or(overflow)? / 10;
    let needed = u128::try_from(buffer.checked_sub(health.maintenance).ok_or(overflow)?).map_err(|_| overflow)?;
    let lots = needed.checked_mul(u128::from(BPS)).ok_or(overflow)?.div_ceil(gain_per_lot_scaled);
    Ok(u64::try_from(lots.min(u128::from(position.base_lots.unsigned_abs()))).unwrap_or(u64::MAX))
}

/// Moves `lots` of `liqee`'s position in `market_id` to `liqor` at the oracle
/// price and books the fee. Refuses a healthy liquidatee, more than
/// [`liquidatable_lots`], and a liquidator left below initial margin. Both
/// sides book through [`Portfolio::book`], like a fill.
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
    let overflow = EngineError::Overflow;
    let liqee_funding = liqee.settle_funding_recording_losses(markets)?;
    let liqor_funding = liqor.settle_funding(markets)?;
    if lots > liquidatable_lots(liqee, markets, market_id)? {
        return Err(EngineError::LiquidationExceedsAllowed);
    }
    let market = markets.risk_market(market_id).ok_or(EngineError::MissingMarket)?;
    let before = liqee.health(markets)?;
    let price = market.oracle_price;
    let notional = i64::try_from(crate::math::mul(lots, price)?).map_err(|_| overflow)?;
    let lots_signed = i64::try_from(lots).map_err(|_| overflow)?;
    let liqee_long = liqee.position(market_id).is_some_and(|p| p.base_lots > 0);
    // The liquidatee sells (if long) or buys back (if short); the liquidator takes the other side.
    let liqee_delta = if liqee_long { lots_signed.wrapping_neg() } else { lots_signed };
    // The fee never exceeds the equity left: liquidation must not itself turn
    // a solvent account bankrupt (an account already under water pays none).
    let equity = i64::try_from(before.equity.clamp(0, i128::from(i64::MAX))).map_err(|_| overflow)?;
    let fee = i64::try_from(mul_bps_ceil(notional.unsigned_abs(), u64::from(market.params.liquidation_fee_bps)))
        .map_err(|_| overflow)?
        .min(equity);
    let insurance =
        i64::try_from(mul_bps_ceil(fee.unsigned_abs(), u64::from(market.params.liquidation_insurance_share_bps)))
            .map_err(|_| overflow)?;
    let reward = fee.checked_sub(insurance).ok_or(overflow)?;
    let mut liqee_booking = liqee.book(market, liqee_delta, price, notional, fee)?;
    let mut liqor_booking = liqor.book(market, liqee_delta.wrapping_neg(), price, notional, reward.wrapping_neg())?;
    liqor.require_exit_allows(&liqor_booking.position)?;
    liqee_booking.collateral_change = liqee_booking.collateral_change.checked_sub(liqee_funding).ok_or(overflow)?;
    liqor_booking.collateral_change = liqor_booking.collateral_change.checked_sub(liqor_funding).ok_or(overflow)?;
    let after = liqee.health(markets)?;
    if after.maintenance <= before.maintenance {
        return Err(EngineError::LiquidationDidNotImprove);
    }
    if liqor.health(markets)?.initial < 0 {
        return Err(EngineError::LiquidatorUnderInitialMargin);
    }
    // Where a deficit arises, whatever the order of liquidations: the loss
    // this one realized in this market (its PnL against cost basis, and the
    // fee), at least one unit so that the market is recorded at all.
    let loss = fee.checked_sub(liqee_booking.position.realized).ok_or(overflow)?.max(1).unsigned_abs();
    let recorded = liqee.liquidation_losses.get_mut(usize::from(market_id)).ok_or(EngineError::MissingMarket)?;
    *recorded = recorded.saturating_add(loss);
    if after.maintenance >= 0 {
        liqee.clear_liquidation_losses();
    }
    Ok(Liquidation {
        lots,
        price,
        fee,
        reward,
        insurance,
        maintenance_before: before.maintenance,
        maintenance_after: after.maintenance,
        liqee: liqee_booking,
        liqor: liqor_booking,
    })
}

/// An account left with no position and negative collateral: its deficit,
/// less the shares already registered against wound-down markets' pools
/// (paid towards it once those markets are final).
pub fn bankruptcy_deficit(pf: &Portfolio) -> Result<u64, EngineError> {
    if pf.has_open_positions() || pf.collateral >= 0 {
        return Err(EngineError::NotBankrupt);
    }
    match pf.collateral.unsigned_abs().checked_sub(pf.settlement_recoveries_total()?) {
        Some(deficit) if deficit > 0 => Ok(deficit),
        _ => Err(EngineError::NotBankrupt),
    }
}

/// What can carry a market's share of a deficit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossCarrier {
    /// A live market with no open lot: its share is the insurance fund's
    /// debt, never pushed onto the markets that happen to hold lots.
    Nobody,
    /// A live market's open lots, through its loss index.
    OpenLots,
    /// A wound-down market's settlement pool.
    Pool,
}

/// Splits a deficit over the markets where it arose: `markets` holds, for
/// each, the loss recorded there and what carries its share. Every market
/// is weighed, whether or not anything can carry its share, so no share
/// depends on which markets hold lots at the moment of the call. Up to the
/// sum of the losses, each market's share is in proportion to its loss and
/// never above it (rounded so that the shares add up exactly); what exceeds
/// the losses, and the shares of markets nobody can carry, are returned
/// apart: the insurance fund's debt. Returns each market's share, in the
/// order given, and that debt.
pub fn loss_shares(deficit: u64, markets: &[(u64, LossCarrier)]) -> Result<([u64; MAX_MARKETS], u64), EngineError> {
    let overflow = EngineError::Overflow;
    if markets.len() > MAX_MARKETS {
        return Err(EngineError::MissingMarket);
    }
    let weight: u128 = markets.iter().map(|(loss, _)| u128::from(*loss)).sum();
    let mut shares = [0u64; MAX_MARKETS];
    if weight == 0 {
        return Ok((shares, deficit));
    }
    let within = u128::from(deficit).min(weight);
    // Losses beyond u64 in sum (more than 10^13 USDC) are weighed at a
    // coarser unit so that the products fit; the cap below still holds.
    let coarser = 64u32.saturating_sub(weight.leading_zeros());
    let mut placed: u64 = 0;
    // Cumulative rounding: each share is the floor or the ceiling of its
    // exact part, so at most its loss, and the shares add up to `within`.
    let (mut losses_so_far, mut given_so_far) = (0u128, 0u128);
    for ((loss, carrier), share) in markets.iter().zip(shares.iter_mut()) {
        losses_so_far = losses_so_far.checked_add(u128::from(*loss)).ok_or(overflow)?;
        let scaled = within.checked_mul(losses_so_far >> coarser).ok_or(overflow)?;
        let given = scaled.checked_div(weight >> coarser).ok_or(overflow)?;
        let part = u64::try_from(given.saturating_sub(given_so_far)).map_err(|_| overflow)?.min(*loss);
        given_so_far = given_so_far.checked_add(u128::from(part)).ok_or(overflow)?;
        if *carrier != LossCarrier::Nobody {
            *share = part;
            placed = placed.checked_add(part).ok_or(overflow)?;
        }
    }
    Ok((shares, deficit.checked_sub(placed).ok_or(overflow)?))
}

/// Spreads a market's share of a deficit over `open_lots` (the market's
/// long plus short lots): the loss per lot, rounded down so that the lots
/// never pay more than the share, and what that leaves uncarried (less than
/// one unit per lot; the insurance fund's debt).
pub fn socialized_loss_per_lot(share: u64, open_lots: u64) -> Result<(i64, u64), EngineError> {
    if open_lots == 0 {
        return Err(EngineError::NoOpenInterest);
    }
    let per_lot = share.checked_div(open_lots).ok_or(EngineError::Overflow)?;
    let carried = crate::math::mul(per_lot, open_lots)?;
    let rest = share.checked_sub(carried).ok_or(EngineError::Overflow)?;
    Ok((i64::try_from(per_lot).map_err(|_| EngineError::Overflow)?, rest))
}
