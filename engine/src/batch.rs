//! Applying a batch of fills: the hot path of `settle_batch`.
//!
//! Checks per fill are comparisons and `u64` products; the one division is the
//! cost-basis release of a partial reduce. Health is computed once per touched
//! account before its first fill and once after the whole batch.

use crate::funding::FundingBucket;
use crate::health::{mul_bps_ceil, mul_bps_floor, MarketLookup, RiskMarket};
use crate::limits::adverse_cost;
use crate::position::PositionChange;
use crate::{EngineError, Fill, FillError, Portfolio, FILL_LEN};

/// Accounts one batch may carry (a transaction locks at most 64 accounts).
pub const MAX_BATCH_ACCOUNTS: usize = 64;
/// Markets one batch may carry.
pub const MAX_BATCH_MARKETS: usize = 8;
/// Groups of accounts a batch spans: one per shard it writes.
pub const MAX_GROUPS: usize = 2;

/// A market as one batch sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchMarket {
    pub risk: RiskMarket,
    /// Fill prices per lot allowed by the market band around the oracle.
    pub min_price: u64,
    pub max_price: u64,
    /// Long and short open interest of each group's shard before the batch.
    pub open_interest: [OpenInterest; MAX_GROUPS],
    /// The oracle held inside the circuit breaker's band: owners' adverse
    /// cost is measured from it (`RiskMarket::banded_oracle`).
    pub cost_oracle: u64,
    /// The market was wound down: its positions close at the settlement
    /// price and no fill trades it.
    pub wound_down: bool,
    /// The worst prices an exiting account may sell at and buy at
    /// (`MarketParams::exit_band`).
    pub exit_min: u64,
    pub exit_max: u64,
}

/// Open interest of one shard in one market, in lots.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenInterest {
    pub long: u64,
    pub short: u64,
}

impl MarketLookup for [BatchMarket] {
    fn risk_market(&self, id: u16) -> Option<&RiskMarket> {
        self.iter().map(|m| &m.risk).find(|m| m.id == id)
    }
}

impl BatchMarket {
    pub fn new(risk: RiskMarket, open_interest: [OpenInterest; MAX_GROUPS]) -> Self {
        let (min_price, max_price) = risk.params.band(risk.oracle_price);
        let cost_oracle = risk.banded_oracle();
        let (exit_min, exit_max) = risk.params.exit_band(cost_oracle);
        BatchMarket { risk, min_price, max_price, open_interest, cost_oracle, wound_down: false, exit_min, exit_max }
    }
}

/// What a batch did to one market in one group's shard.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MarketFlow {
    /// Change of the shard's long open interest, in lots.
    pub long_delta: i64,
    /// Change of the shard's short open interest, in lots.
    pub short_delta: i64,
    /// Net fees (taker fees less maker rebates) of the fills whose taker is
    /// on this shard: never negative.
    pub fees: i64,
    pub volume_lots: u64,
    /// Σ (fill price − oracle) × lots over the fills: the premium the funding
    /// crank reads, volume-weighted, from every shard.
    pub premium: i64,
    pub fills: u32,
    /// Price per lot of the last fill.
    pub last_price: u64,
}

impl MarketFlow {
    /// The batch's fills as funding records them, at the batch's oracle.
    pub fn funding(&self, oracle: u64) -> FundingBucket {
        FundingBucket {
            volume_lots: self.volume_lots,
            premium: self.premium,
            oracle_notional: self.volume_lots.saturating_mul(oracle),
        }
    }

    /// What an owner trade (`settle_owner_trade`, signed by both owners, no
    /// matcher) leaves in a shard: open interest and fees. It is off the book:
    /// none of the fill statistics funding reads, so nobody steers the rate by
    /// trading with a friend or with itself at the band's edge.
    pub fn off_book(&self) -> MarketFlow {
        MarketFlow { long_delta: self.long_delta, short_delta: self.short_delta, fees: self.fees, ..Default::default() }
    }

    /// Adds one side's change of the shard's open interest.
    fn add_open_interest(&mut self, change: &PositionChange) -> Result<(), EngineError> {
        let overflow = EngineError::Overflow;
        self.long_delta = self.long_delta.checked_add(change.long_change()).ok_or(overflow)?;
        self.short_delta = self.short_delta.checked_add(change.short_change()).ok_or(overflow)?;
        Ok(())
    }

    /// Refuses a fill whose net change raised a side of the shard's open
    /// interest (`grew`: long, short) while that side ends above the cap.
    /// Judged on the fill as a whole, once both sides are booked: a position
    /// that changes hands within the shard leaves its interest as it was and
    /// passes whichever side the engine books first, so a cut cap stops new
    /// exposure (also exposure recycled after a close in the same batch),
    /// never an owner's exit against a maker on its shard.
    fn check_cap(&self, before: &OpenInterest, cap: u64, grew: (bool, bool)) -> Result<(), EngineError> {
        // Interest is never negative: a sum that leaves u64 is above any cap.
        let above = |before: u64, delta: i64| before.checked_add_signed(delta).is_none_or(|oi| oi > cap);
        if (grew.0 && above(before.long, self.long_delta)) || (grew.1 && above(before.short, self.short_delta)) {
            return Err(EngineError::OpenInterestCapExceeded);
        }
        Ok(())
    }
}

/// Everything a batch changes outside the margin accounts, per group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchFlows {
    /// Change of the sum of the group's collateral: fees paid, funding settled
    /// and, across groups, the cash of cross-shard fills.
    pub collateral_delta: [i64; MAX_GROUPS],
    pub markets: [[MarketFlow; MAX_BATCH_MARKETS]; MAX_GROUPS],
}

impl BatchFlows {
    pub fn fills(&self) -> u32 {
        self.markets.iter().flatten().fold(0u32, |n, f| n.saturating_add(f.fills))
    }
}

const UNTOUCHED: u16 = u16::MAX;

/// The fill index a refusal of the batch as a whole names.
pub const WHOLE_BATCH: usize = u16::MAX as usize;

/// Applies `fills` (encoded back to back) to `accounts`. `groups[i]` is the
/// group (shard slot, 0 or 1) of account `i`. Every account must take part in
/// at least one fill: a batch cannot write-lock bystanders. On error nothing
/// is promised about the accounts: the caller aborts the transaction.
///
/// Never inlined: its frame (flows, per-account fill marks) gets the whole
/// 4 KB SBF stack frame to itself instead of adding to its caller's.
#[inline(never)]
pub fn settle_fills(
    markets: &[BatchMarket],
    accounts: &mut [&mut Portfolio],
    groups: &[u8],
    fills: &[u8],
    now_unix: i64,
) -> Result<BatchFlows, FillError> {
    let malformed = FillError::at(WHOLE_BATCH, EngineError::MalformedBatch);
    if !fills.len().is_multiple_of(FILL_LEN)
        || fills.is_empty()
        || accounts.len() > MAX_BATCH_ACCOUNTS
        || markets.len() > MAX_BATCH_MARKETS
        || groups.len() != accounts.len()
        || groups.iter().any(|g| *g as usize >= MAX_GROUPS)
    {
        return Err(malformed);
    }
    let mut flows = BatchFlows::default();
    let mut last_fill = [UNTOUCHED; MAX_BATCH_ACCOUNTS];

    for (index, bytes) in fills.as_chunks::<FILL_LEN>().0.iter().enumerate() {
        let fail = |cause| FillError::at(index, cause);
        let fill = Fill::decode(bytes);
        let (taker, maker) = (fill.taker as usize, fill.maker as usize);
        if taker >= accounts.len() || maker >= accounts.len() {
            return Err(fail(EngineError::AccountIndexOutOfRange));
        }
        if taker == maker {
            return Err(fail(EngineError::SelfTrade));
        }
        let slot = fill.market_slot as usize;
        let market = markets.get(slot).ok_or(fail(EngineError::MarketIndexOutOfRange))?;
        if market.wound_down {
            return Err(fail(EngineError::MarketWoundDown));
        }
        let params = &market.risk.params;
        if fill.quantity_lots == 0 || fill.price_ticks == 0 {
            return Err(fail(EngineError::ZeroQuantityOrPrice));
        }
        let price = params.price_per_lot(fill.price_ticks).map_err(fail)?;
        if price < market.min_price || price > market.max_price {
            return Err(fail(EngineError::PriceOutsideBand));
        }
        let lots = u64::from(fill.quantity_lots);
        let notional = crate::math::mul(lots, price).map_err(fail)?;
        let notional = i64::try_from(notional).map_err(|_| fail(EngineError::Overflow))?;
        let (taker_fee, maker_fee) = fees(params, notional.unsigned_abs());
        let taker_delta = fill.taker_delta();
        let sides = [(taker, taker_delta, taker_fee), (maker, taker_delta.wrapping_neg(), maker_fee)];
        // This fill's change of each group's long and short open interest.
        let mut grew = [(0i64, 0i64); MAX_GROUPS];
        for (account, delta, fee) in sides {
            let pf = &mut *accounts[account];
            // An owner who asked to exit is closed out within the exit band,
            // whatever its limits and budget, so that an honest matcher can
            // always serve it; nothing may add to its positions.
            let exiting = pf.is_exiting();
            if exiting && (if delta > 0 { price > market.exit_max } else { price < market.exit_min }) {
                return Err(fail(EngineError::PriceBeyondExitBand));
            }
            if !exiting {
                check_limits(pf, &fill, market, price, now_unix).map_err(fail)?;
                let cost = adverse_cost(delta > 0, lots, price, market.cost_oracle, fee).map_err(fail)?;
                pf.cost_window.charge(&pf.limits, cost, now_unix).map_err(fail)?;
            }
            let booked = pf.book(&market.risk, delta, price, notional, fee).map_err(fail)?;
            if exiting {
                pf.require_exit_allows(&booked.position).map_err(fail)?;
            } else if !pf.limits.allows_position(booked.position.base_before, booked.position.base_after) {
                return Err(fail(EngineError::PositionAboveOwnerLimit));
            }
            last_fill[account] = u16::try_from(index).unwrap_or(u16::MAX);
            let group = groups[account] as usize;
            flows.collateral_delta[group] = flows.collateral_delta[group]
                .checked_add(booked.collateral_change)
                .ok_or(fail(EngineError::Overflow))?;
            flows.markets[group][slot].add_open_interest(&booked.position).map_err(fail)?;
            let (long, short) = &mut grew[group];
            *long = long.saturating_add(booked.position.long_change());
            *short = short.saturating_add(booked.position.short_change());
        }
        for (group, (long, short)) in grew.iter().enumerate().filter(|(_, (l, s))| *l > 0 || *s > 0) {
            let cap = params.max_open_interest_per_shard;
            let before = &market.open_interest[group];
            flows.markets[group][slot].check_cap(before, cap, (*long > 0, *short > 0)).map_err(fail)?;
        }
        let premium = price_premium(price, market.risk.oracle_price, lots).map_err(fail)?;
        // Both fees are booked on the taker's shard, where the taker fee that
        // pays a maker's rebate is collected: a shard's fees are never
        // negative, so a rebate across shards is a shortfall that
        // rebalancing fills, not a hole in the reserve.
        let flow = &mut flows.markets[groups[taker] as usize][slot];
        let net_fee = taker_fee.checked_add(maker_fee).ok_or(fail(EngineError::Overflow))?;
        flow.fees = flow.fees.checked_add(net_fee).ok_or(fail(EngineError::Overflow))?;
        flow.volume_lots = flow.volume_lots.saturating_add(lots);
        flow.premium = flow.premium.saturating_add(premium);
        flow.fills = flow.fills.wrapping_add(1);
        flow.last_price = price;
    }

    // One pass per touched account: funding on the positions it did not
    // trade, then health. Only an account left below initial margin needs its
    // health before the batch, rebuilt from the fills.
    for (i, pf) in accounts.iter_mut().enumerate() {
        if last_fill[i] == UNTOUCHED {
            return Err(FillError::at(WHOLE_BATCH, EngineError::AccountNotInAnyFill));
        }
        let fail = |cause| FillError::at(last_fill[i] as usize, cause);
        let (funding, after) = pf.settle_and_health(markets).map_err(fail)?;
        let group = groups[i] as usize;
        flows.collateral_delta[group] =
            flows.collateral_delta[group].checked_sub(funding).ok_or(fail(EngineError::Overflow))?;
        if after.initial >= 0 {
            continue;
        }
        let before = state_before_batch(pf, i, markets, fills).map_err(fail)?.health(markets).map_err(fail)?;
        if !Portfolio::passes_settlement_rule(&before, &after) {
            return Err(fail(EngineError::Undercollateralized));
        }
    }
    Ok(flows)
}

/// `(price − oracle) × lots`: one fill's premium over the oracle.
#[inline(always)]
fn price_premium(price: u64, oracle: u64, lots: u64) -> Result<i64, EngineError> {
    let gap = i64::try_from(crate::math::mul(price.abs_diff(oracle), lots)?).map_err(|_| EngineError::Overflow)?;
    Ok(if price >= oracle { gap } else { gap.wrapping_neg() })
}

/// Taker and maker fee of a fill (a negative maker fee is a rebate). Fees
/// round in the venue's favour.
#[inline(always)]
fn fees(params: &crate::MarketParams, notional: u64) -> (i64, i64) {
    let taker_fee = mul_bps_ceil(notional, params.taker_fee_bps as u64) as i64;
    let maker_fee = if params.maker_fee_bps >= 0 {
        mul_bps_ceil(notional, params.maker_fee_bps as u64) as i64
    } else {
        (mul_bps_floor(notional, params.maker_fee_bps.unsigned_abs() as u64) as i64).wrapping_neg()
    };
    (taker_fee, maker_fee)
}

/// What health needs of account `account` before the batch (collateral and
/// base lots; cost basis plays no part), by taking its fills back out.
/// Exact: collateral and base change by sums. Runs only on the rare path,
/// in a frame of its own (it copies a portfolio).
#[inline(never)]
fn state_before_batch(
    after: &Portfolio,
    account: usize,
    markets: &[BatchMarket],
    fills: &[u8],
) -> Result<Portfolio, EngineError> {
    let mut base_change = [0i64; MAX_BATCH_MARKETS];
    let mut collateral_change: i64 = 0;
    for bytes in fills.as_chunks::<FILL_LEN>().0 {
        let fill = Fill::decode(bytes);
        let is_taker = fill.taker as usize == account;
        if !is_taker && fill.maker as usize != account {
            continue;
        }
        let slot = fill.market_slot as usize;
        let market = markets.get(slot).ok_or(EngineError::MarketIndexOutOfRange)?;
        let price = market.risk.params.price_per_lot(fill.price_ticks)?;
        let notional = crate::math::mul(u64::from(fill.quantity_lots), price)?;
        let (taker_fee, maker_fee) = fees(&market.risk.params, notional);
        let notional = i64::try_from(notional).map_err(|_| EngineError::Overflow)?;
        let (delta, fee) =
            if is_taker { (fill.taker_delta(), taker_fee) } else { (fill.taker_delta().wrapping_neg(), maker_fee) };
        let cash = if delta > 0 { notional.wrapping_neg() } else { notional };
        let change = base_change.get_mut(slot).ok_or(EngineError::MarketIndexOutOfRange)?;
        *change = change.checked_add(delta).ok_or(EngineError::Overflow)?;
        collateral_change =
            cash.checked_sub(fee).and_then(|c| collateral_change.checked_add(c)).ok_or(EngineError::Overflow)?;
    }
    let mut before = *after;
    before.collateral = before.collateral.checked_sub(collateral_change).ok_or(EngineError::Overflow)?;
    // Undo where a position is open first, so closed slots free up before reopening.
    let open_after: [bool; MAX_BATCH_MARKETS] =
        core::array::from_fn(|slot| markets.get(slot).is_some_and(|m| after.position(m.risk.id).is_some()));
    for reopen in [false, true] {
        for (slot, change) in base_change.iter().enumerate().take(markets.len()) {
            let id = markets[slot].risk.id;
            if *change == 0 || open_after[slot] == reopen {
                continue;
            }
            let position = before.position_slot(id)?;
            position.base_lots = position.base_lots.checked_sub(*change).ok_or(EngineError::Overflow)?;
        }
    }
    Ok(before)
}

#[inline(always)]
fn check_limits(pf: &Portfolio, fill: &Fill, market: &BatchMarket, price: u64, now: i64) -> Result<(), EngineError> {
    let limits = &pf.limits;
    if limits.expiry_unix <= now {
        return Err(EngineError::OwnerLimitsExpired);
    }
    if !limits.allows_market(market.risk.id) {
        return Err(EngineError::MarketNotAllowedByOwner);
    }
    if u64::from(fill.quantity_lots) > limits.max_lots_per_fill {
        return Err(EngineError::QuantityAboveOwnerLimit);
    }
    if !limits.allows_price(price, market.risk.oracle_price) {
        return Err(EngineError::PriceBeyondOwnerLimit);
    }
    Ok(())
}
