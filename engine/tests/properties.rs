//! Properties of any batch the engine accepts: it creates no money, keeps
//! every market's net position at zero, and a refused batch names a fill.

use clearshard_engine::batch::BatchMarket;
use clearshard_engine::{settle_fills, Fill, MarketParams, Portfolio, RiskMarket, TradeLimits};
use proptest::prelude::*;

fn open_budget() -> TradeLimits {
    TradeLimits { max_position_lots: u64::MAX, max_adverse_cost: u64::MAX, window_secs: 60, ..Default::default() }
}

fn market(id: u16, oracle: u64) -> BatchMarket {
    let params = MarketParams {
        max_open_interest_per_shard: u64::MAX / 4,
        taker_fee_bps: 7,
        maker_fee_bps: -3,
        band_bps: 1_000,
        ..MarketParams::perpetual(1, 1, 0)
    };
    BatchMarket::new(
        RiskMarket {
            id,
            params,
            oracle_price: oracle,
            reference_price: oracle,
            cumulative_funding: 0,
            cumulative_loss: 0,
        },
        Default::default(),
    )
}

fn fills() -> impl Strategy<Value = Vec<Fill>> {
    prop::collection::vec(
        (0u8..6, 0u8..5, 0u8..3, any::<bool>(), 1u32..2_000, 900u32..1_100).prop_map(|(t, m, s, b, q, p)| Fill {
            taker: t,
            maker: (t + 1 + m) % 6,
            market_slot: s,
            taker_buys: b,
            quantity_lots: q,
            price_ticks: p * (s as u32 + 1),
        }),
        1..60,
    )
}

proptest! {
    #[test]
    fn accepted_batches_conserve_money_and_net_position(fills in fills(), collateral in 1_000_000i64..2_000_000_000) {
        let markets = [market(0, 1_000), market(1, 2_000), market(2, 3_000)];
        let limits = TradeLimits { allowed_markets: 0b111, max_lots_per_fill: 10_000, expiry_unix: 10, max_deviation_bps: 10_000, ..open_budget() };
        let mut pfs = [Portfolio { collateral, limits, ..Default::default() }; 6];
        let groups = [0u8, 0, 0, 1, 1, 1];
        let bytes: Vec<u8> = fills.iter().flat_map(|f| f.encode()).collect();
        let mut refs: Vec<&mut Portfolio> = pfs.iter_mut().collect();
        match settle_fills(&markets, &mut refs, &groups, &bytes, 0) {
            Ok(flows) => {
                let fees: i64 = flows.markets.iter().flatten().map(|f| f.fees).sum();
                let total: i64 = pfs.iter().map(|p| p.collateral).sum();
                prop_assert_eq!(total + fees, collateral * 6);
                for g in 0..2 {
                    let group_total: i64 = pfs.iter().zip(groups).filter(|(_, gr)| *gr as usize == g).map(|(p, _)| p.collateral).sum();
                    prop_assert_eq!(group_total, collateral * 3 + flows.collateral_delta[g]);
                }
                prop_assert!(fees >= 0);
                for m in 0..3u16 {
                    let net: i64 = pfs.iter().filter_map(|p| p.position(m)).map(|p| p.base_lots).sum();
                    prop_assert_eq!(net, 0);
                }
                prop_assert_eq!(flows.fills() as usize, fills.len());
            }
            Err(e) => prop_assert!(
                (e.fill as usize) < fills.len() || e.cause == clearshard_engine::EngineError::AccountNotInAnyFill
            ),
        }
    }
}

proptest! {
    /// The engine rebuilds an account's pre-batch health from the fills only
    /// when the account ends below initial margin; its verdict must equal the
    /// rule applied with the true pre-batch health.
    #[test]
    fn health_rule_matches_true_pre_batch_health(
        fills in fills(),
        collateral in prop::collection::vec(-2_000_000i64..3_000_000, 6),
        seeded in prop::collection::vec((-300i64..300, -300i64..300), 6),
    ) {
        let markets = [market(0, 1_000), market(1, 2_000), market(2, 3_000)];
        let limits = TradeLimits { allowed_markets: 0b111, max_lots_per_fill: 10_000, expiry_unix: 10, max_deviation_bps: 10_000, ..open_budget() };
        let mut pfs: Vec<Portfolio> = collateral.iter().zip(&seeded).map(|(c, (a, b))| {
            let mut p = Portfolio { collateral: *c, limits, ..Default::default() };
            p.positions[0] = clearshard_engine::Position { market_id: 0, base_lots: *a, cost_basis: a * 1_000, ..Default::default() };
            p.positions[1] = clearshard_engine::Position { market_id: 2, base_lots: *b, cost_basis: b * 3_000, ..Default::default() };
            p
        }).collect();
        let before: Vec<_> = pfs.iter().map(|p| p.health(&markets[..]).unwrap()).collect();
        let touched: Vec<bool> = (0..6).map(|i| fills.iter().any(|f| f.taker as usize == i || f.maker as usize == i)).collect();
        let bytes: Vec<u8> = fills.iter().flat_map(|f| f.encode()).collect();
        let mut refs: Vec<&mut Portfolio> = pfs.iter_mut().collect();
        let result = settle_fills(&markets, &mut refs, &[0; 6], &bytes, 0);
        let fails_rule = |i: usize, p: &Portfolio| {
            touched[i] && !Portfolio::passes_settlement_rule(&before[i], &p.health(&markets[..]).unwrap())
        };
        match result {
            Ok(_) => prop_assert!(!pfs.iter().enumerate().any(|(i, p)| fails_rule(i, p))),
            Err(e) if e.cause == clearshard_engine::EngineError::Undercollateralized => {
                prop_assert!(pfs.iter().enumerate().any(|(i, p)| fails_rule(i, p)))
            }
            Err(_) => {}
        }
    }
}
