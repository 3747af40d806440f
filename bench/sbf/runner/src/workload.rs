//! The batch the harness is metered on: market makers on one side of every
//! fill (as in a real venue), takers spread over the rest of the accounts, two
//! markets, and positions already open so that fills both open and reduce.

use clearshard_engine::{Fill, MarketParams, Portfolio, Position, TradeLimits};

pub const NOW: i64 = 1_800_000_000;
pub const MAKERS: usize = 4;
/// Margin accounts a settle_batch transaction can carry: 64 locks less the
/// matcher, its record, exchange, shard, program and two (market, oracle) pairs.
pub const MAX_ACCOUNTS: usize = 55;

pub fn market_params() -> MarketParams {
    MarketParams { max_open_interest_per_shard: 1 << 40, ..MarketParams::perpetual(100, 10_000, 8) }
}

/// `(id, params, oracle price per lot, cumulative funding, shard open
/// interest)` of the two markets. Funding has accrued since the seeded
/// positions last settled, so every touched position pays or receives it.
pub fn markets() -> Vec<(u16, MarketParams, u64, i64, u64)> {
    vec![(0, market_params(), 6_000_000, 6_000, 0), (1, market_params(), 3_000_000, -1_500, 0)]
}

/// Makers of a batch of `fills` fills: every account a batch lists must trade.
fn makers(fills: usize) -> usize {
    fills.clamp(1, MAKERS)
}

/// Accounts for a batch of `fills` fills: the makers plus up to 51 takers.
pub fn portfolios(fills: usize) -> Vec<Portfolio> {
    let makers = makers(fills);
    let takers = fills.clamp(1, MAX_ACCOUNTS - makers);
    (0..makers + takers)
        .map(|i| {
            let mut p = Portfolio {
                collateral: 1_000_000_000_000,
                limits: TradeLimits {
                    allowed_markets: 0b11,
                    max_lots_per_fill: 1_000_000,
                    expiry_unix: NOW + 3_600,
                    max_deviation_bps: 300,
                    max_position_lots: 1_000_000,
                    max_adverse_cost: u64::MAX,
                    window_secs: 3_600,
                    _padding: [0; 2],
                },
                ..Default::default()
            };
            // Every other account already holds a long in market 0 and a short in market 1.
            if i % 2 == 1 {
                p.positions[0] =
                    Position { market_id: 0, base_lots: 50, cost_basis: 50 * 6_000_000, ..Default::default() };
                p.positions[1] =
                    Position { market_id: 1, base_lots: -40, cost_basis: -40 * 3_000_000, ..Default::default() };
            }
            p
        })
        .collect()
}

/// `count` fills: taker `i` against maker `i % makers`, alternating markets
/// and sides, prices within 1% of the oracle.
pub fn fills(count: usize, accounts: usize) -> Vec<Fill> {
    let makers = makers(count);
    let takers = accounts - makers;
    (0..count)
        .map(|i| {
            let slot = (i % 2) as u8;
            let oracle_ticks: u32 = if slot == 0 { 60_000 } else { 30_000 };
            Fill {
                taker: (makers + i % takers) as u8,
                maker: (i % makers) as u8,
                market_slot: slot,
                taker_buys: (i / 2) % 2 == 0,
                quantity_lots: 1 + (i as u32 * 7) % 60,
                price_ticks: oracle_ticks + (i as u32 * 13) % 500 - 250,
            }
        })
        .collect()
}

/// A long of 1_000 lots in market 0 bought at the oracle with 8% margin, after
/// the oracle fell 3%: below maintenance. And a well-funded liquidator.
pub fn liquidation_accounts() -> (Portfolio, Portfolio) {
    let oracle_before = 6_000_000 * 100 / 97;
    let mut liqee =
        Portfolio { collateral: -(1_000 * oracle_before) + 1_000 * oracle_before * 8 / 100, ..Default::default() };
    liqee.positions[0] =
        Position { market_id: 0, base_lots: 1_000, cost_basis: 1_000 * oracle_before, ..Default::default() };
    liqee.positions[1] = Position { market_id: 1, base_lots: -10, cost_basis: -30_000_000, ..Default::default() };
    let liqor = Portfolio { collateral: 1_000_000_000_000, ..Default::default() };
    (liqee, liqor)
}

/// The lots the engine allows for [`liquidation_accounts`].
pub fn liquidation_lots() -> u64 {
    let (liqee, _) = liquidation_accounts();
    let risk: Vec<clearshard_engine::RiskMarket> = markets()
        .into_iter()
        .map(|(id, params, oracle_price, cumulative_funding, _)| clearshard_engine::RiskMarket {
            id,
            params,
            oracle_price,
            reference_price: oracle_price,
            cumulative_funding,
            cumulative_loss: 0,
        })
        .collect();
    clearshard_engine::liquidation::liquidatable_lots(&liqee, &risk, 0).unwrap_or(0)
}
