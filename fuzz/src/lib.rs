//! Inputs the fuzz targets share: markets, portfolios and the accruals a
//! portfolio owes, built from the fuzzer's bytes. Values mostly stay in
//! realistic ranges (so that fills get accepted and their books checked),
//! and now and then take any value (so that overflows are tried).

use arbitrary::{Result, Unstructured};
use clearshard_engine::{MarketParams, Portfolio, Position, RiskMarket, TradeLimits};

/// Usually `value`, now and then any value at all.
fn or_any<T: for<'a> arbitrary::Arbitrary<'a>>(u: &mut Unstructured, value: T) -> Result<T> {
    Ok(if u.ratio(1, 16)? { u.arbitrary()? } else { value })
}

/// Usually a value in `range`, now and then any value at all.
fn in_or_any<T>(u: &mut Unstructured, range: std::ops::RangeInclusive<T>) -> Result<T>
where
    T: arbitrary::unstructured::Int + for<'a> arbitrary::Arbitrary<'a>,
{
    if u.ratio(1, 16)? {
        u.arbitrary()
    } else {
        u.int_in_range(range)
    }
}

/// A market with valid parameters, an oracle price and funding and loss indexes.
pub fn market(u: &mut Unstructured, id: u16) -> Result<RiskMarket> {
    let initial_margin_bps = u.int_in_range(100..=5_000)?;
    let maintenance_margin_bps = u.int_in_range(1..=initial_margin_bps - 1)?;
    let taker_fee_bps = u.int_in_range(0..=(maintenance_margin_bps - 1).min(100))?;
    let params = MarketParams {
        tick_size: in_or_any(u, 1..=1_000)?.max(1),
        base_lot_size: 1,
        max_open_interest_per_shard: or_any(u, 1_000_000_000)?,
        initial_margin_bps,
        maintenance_margin_bps,
        taker_fee_bps,
        maker_fee_bps: u.int_in_range(-(taker_fee_bps as i16)..=taker_fee_bps as i16)?,
        band_bps: u.int_in_range(1..=initial_margin_bps)?,
        max_confidence_bps: 10_000,
        max_staleness_secs: 60,
        base_decimals: 0,
        _padding: 0,
        liveness_timeout_mins: 720,
        liquidation_fee_bps: u.int_in_range(0..=maintenance_margin_bps - 1)?,
        liquidation_insurance_share_bps: u.int_in_range(0..=10_000)?,
        funding_min_volume_lots: in_or_any(u, 1..=1_000_000)?.max(1),
    };
    let oracle_price = in_or_any(u, 1..=10_000_000)?.max(1);
    // Now and then the oracle stands beyond the circuit breaker's bound.
    let reference_price = if u.ratio(1, 4)? { in_or_any(u, 1..=10_000_000)?.max(1) } else { oracle_price };
    Ok(RiskMarket {
        id,
        params,
        oracle_price,
        reference_price,
        cumulative_funding: in_or_any(u, -1_000_000_000..=1_000_000_000)?,
        cumulative_loss: in_or_any(u, 0..=1_000_000_000)?,
    })
}

/// A portfolio with up to three positions in `markets`, limits mostly open.
pub fn portfolio(u: &mut Unstructured, markets: &[RiskMarket], now: i64) -> Result<Portfolio> {
    let mut p = Portfolio {
        collateral: in_or_any(u, -1_000_000_000_000..=1_000_000_000_000)?,
        limits: TradeLimits {
            allowed_markets: or_any(u, u64::MAX)?,
            max_lots_per_fill: or_any(u, u64::MAX)?,
            expiry_unix: now + i64::from(u.int_in_range(-1..=3_600)?),
            max_position_lots: or_any(u, u64::MAX)?,
            max_adverse_cost: or_any(u, u64::MAX)?,
            window_secs: u.int_in_range(1..=3_600)?,
            max_deviation_bps: or_any(u, 10_000)?,
            _padding: [0; 2],
        },
        ..Default::default()
    };
    for slot in 0..u.int_in_range(0..=3usize)? {
        let Some(m) = markets.get(u.choose_index(markets.len().max(1))?) else { break };
        if p.positions.iter().any(|q| q.is_open() && q.market_id == m.id) {
            continue;
        }
        let base_lots = in_or_any(u, -1_000_000..=1_000_000)?;
        let funding_lag: i64 = u.int_in_range(-1_000..=1_000)?;
        let loss_lag: i64 = u.int_in_range(0..=1_000)?;
        let funding_snapshot = or_any(u, m.cumulative_funding.saturating_sub(funding_lag))?;
        let loss_snapshot = or_any(u, m.cumulative_loss.saturating_sub(loss_lag))?;
        let entry = i64::try_from(m.oracle_price).unwrap_or(i64::MAX);
        p.positions[slot] = Position {
            market_id: m.id,
            base_lots,
            cost_basis: base_lots.saturating_mul(entry),
            funding_snapshot,
            loss_snapshot,
            ..Default::default()
        };
    }
    Ok(p)
}

/// What settling every open position at `markets`' indexes costs the
/// portfolio (negative: it receives), computed independently of the engine.
/// `None` when a position's market is missing.
pub fn accruals_owed(p: &Portfolio, markets: &[RiskMarket]) -> Option<i128> {
    let mut owed = 0i128;
    for q in p.positions.iter().filter(|q| q.is_open()) {
        let m = markets.iter().find(|m| m.id == q.market_id)?;
        let funding = i128::from(m.cumulative_funding) - i128::from(q.funding_snapshot);
        let loss = i128::from(m.cumulative_loss) - i128::from(q.loss_snapshot);
        owed += i128::from(q.base_lots) * funding + i128::from(q.base_lots.unsigned_abs()) * loss;
    }
    Some(owed)
}

/// Net base lots per market over `portfolios`.
pub fn net_base(portfolios: &[Portfolio], market: u16) -> i128 {
    portfolios.iter().filter_map(|p| p.position(market)).map(|q| i128::from(q.base_lots)).sum()
}

/// Every open position carries its market's indexes.
pub fn snapshots_current(p: &Portfolio, markets: &[RiskMarket]) -> bool {
    p.positions.iter().filter(|q| q.is_open()).all(|q| {
        markets
            .iter()
            .find(|m| m.id == q.market_id)
            .is_some_and(|m| (q.funding_snapshot, q.loss_snapshot) == (m.cumulative_funding, m.cumulative_loss))
    })
}
