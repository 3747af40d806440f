//! The batch engine as settle_batch runs it: fills, fees, open interest,
//! health, and every refusal with the fill it names.

use clearshard_engine::batch::BatchMarket;
use clearshard_engine::{settle_fills, EngineError, Fill, FillError, MarketParams, Portfolio, RiskMarket, TradeLimits};

const NOW: i64 = 1_000;

fn params() -> MarketParams {
    MarketParams {
        max_open_interest_per_shard: 1_000,
        taker_fee_bps: 10,
        maker_fee_bps: -2,
        ..MarketParams::perpetual(1, 1, 0)
    }
}

fn market(id: u16, oracle: u64) -> BatchMarket {
    BatchMarket::new(
        RiskMarket {
            id,
            params: params(),
            oracle_price: oracle,
            reference_price: oracle,
            cumulative_funding: 0,
            cumulative_loss: 0,
        },
        Default::default(),
    )
}

fn trader(collateral: i64) -> Portfolio {
    Portfolio {
        collateral,
        limits: TradeLimits {
            allowed_markets: u64::MAX,
            max_lots_per_fill: 500,
            expiry_unix: NOW + 60,
            max_deviation_bps: 300,
            max_position_lots: u64::MAX,
            max_adverse_cost: u64::MAX,
            window_secs: 60,
            _padding: [0; 2],
        },
        ..Default::default()
    }
}

fn fill(taker: u8, maker: u8, slot: u8, buy: bool, qty: u32, price: u32) -> Vec<u8> {
    Fill { taker, maker, market_slot: slot, taker_buys: buy, quantity_lots: qty, price_ticks: price }.encode().to_vec()
}

fn settle(
    markets: &[BatchMarket],
    pfs: &mut [Portfolio],
    fills: &[u8],
) -> Result<clearshard_engine::BatchFlows, FillError> {
    let groups = vec![0u8; pfs.len()];
    let mut refs: Vec<&mut Portfolio> = pfs.iter_mut().collect();
    settle_fills(markets, &mut refs, &groups, fills, NOW)
}

#[test]
fn fill_moves_cash_positions_and_fees_without_creating_money() {
    let mut pfs = [trader(100_000), trader(100_000)];
    let flows = settle(&[market(3, 1_000)], &mut pfs, &fill(0, 1, 0, true, 10, 1_010)).unwrap();
    // taker pays 10_100 + fee ceil(10.1) = 11; maker receives 10_100 + rebate floor(2.02) = 2
    assert_eq!(pfs[0].collateral, 100_000 - 10_100 - 11);
    assert_eq!(pfs[1].collateral, 100_000 + 10_100 + 2);
    assert_eq!(pfs[0].position(3).unwrap().base_lots, 10);
    assert_eq!(pfs[1].position(3).unwrap().base_lots, -10);
    let flow = flows.markets[0][0];
    assert_eq!(
        (flow.fees, flow.fills, flow.volume_lots, flow.long_delta, flow.short_delta, flow.last_price, flow.premium),
        (9, 1, 10, 10, 10, 1_010, 100)
    );
    assert_eq!(flows.collateral_delta[0], -9);
    assert_eq!(pfs[0].collateral + pfs[1].collateral + flow.fees, 200_000);
}

#[test]
fn an_off_book_flow_keeps_open_interest_and_fees_and_drops_what_funding_reads() {
    let mut pfs = [trader(100_000), trader(100_000)];
    let flow = settle(&[market(3, 1_000)], &mut pfs, &fill(0, 1, 0, true, 10, 1_030)).unwrap().markets[0][0];
    let off = flow.off_book();
    assert_eq!((off.long_delta, off.short_delta, off.fees), (flow.long_delta, flow.short_delta, flow.fees));
    assert_eq!((off.fills, off.volume_lots, off.premium, off.last_price), (0, 0, 0, 0));
    assert_eq!(off.funding(1_000), Default::default());
}

#[test]
fn realized_pnl_follows_cost_basis_across_fills() {
    let mut pfs = [trader(100_000), trader(100_000), trader(100_000)];
    let fills = [fill(0, 1, 0, true, 10, 1_000), fill(0, 2, 0, false, 4, 1_040)].concat();
    let flows = settle(&[market(0, 1_020)], &mut pfs, &fills).unwrap();
    assert_eq!(pfs[0].realized_pnl, 4 * 40);
    assert_eq!(pfs[0].position(0).unwrap().cost_basis, 6_000);
    assert_eq!((flows.markets[0][0].long_delta, flows.markets[0][0].short_delta), (10, 10));
    let total: i64 = pfs.iter().map(|p| p.collateral).sum();
    assert_eq!(total + flows.markets[0][0].fees, 300_000);
}

#[test]
fn each_refusal_names_fill_and_cause() {
    let m = [market(0, 1_000)];
    let cases: Vec<(Vec<u8>, EngineError)> = vec![
        (fill(0, 5, 0, true, 1, 1_000), EngineError::AccountIndexOutOfRange),
        (fill(1, 1, 0, true, 1, 1_000), EngineError::SelfTrade),
        (fill(0, 1, 1, true, 1, 1_000), EngineError::MarketIndexOutOfRange),
        (fill(0, 1, 0, true, 0, 1_000), EngineError::ZeroQuantityOrPrice),
        (fill(0, 1, 0, true, 1, 1_051), EngineError::PriceOutsideBand),
        (fill(0, 1, 0, true, 501, 1_000), EngineError::QuantityAboveOwnerLimit),
        (fill(0, 1, 0, true, 1, 1_031), EngineError::PriceBeyondOwnerLimit),
    ];
    for (bad, cause) in cases {
        let mut pfs = [trader(1_000_000), trader(1_000_000)];
        let fills = [fill(0, 1, 0, true, 1, 1_000), bad].concat();
        assert_eq!(settle(&m, &mut pfs, &fills), Err(FillError { fill: 1, cause }), "{cause:?}");
    }
}

#[test]
fn owner_limits_guard_markets_and_expiry() {
    let m = [market(7, 1_000)];
    let mut pfs = [trader(1_000_000), trader(1_000_000)];
    pfs[1].limits.allowed_markets = !(1 << 7);
    let err = settle(&m, &mut pfs, &fill(0, 1, 0, true, 1, 1_000)).unwrap_err();
    assert_eq!(err, FillError { fill: 0, cause: EngineError::MarketNotAllowedByOwner });
    let mut pfs = [trader(1_000_000), trader(1_000_000)];
    pfs[0].limits.expiry_unix = NOW;
    let err = settle(&m, &mut pfs, &fill(0, 1, 0, true, 1, 1_000)).unwrap_err();
    assert_eq!(err, FillError { fill: 0, cause: EngineError::OwnerLimitsExpired });
}

#[test]
fn undercollateralized_account_fails_at_its_last_fill() {
    let m = [market(0, 1_000)];
    // 500 lots at 1000 = 500_000 notional needs 50_000 initial margin.
    let mut pfs = [trader(49_000), trader(1_000_000), trader(1_000_000)];
    let fills =
        [fill(0, 1, 0, true, 250, 1_000), fill(2, 1, 0, true, 1, 1_000), fill(0, 1, 0, true, 250, 1_000)].concat();
    assert_eq!(settle(&m, &mut pfs, &fills), Err(FillError { fill: 2, cause: EngineError::Undercollateralized }));
}

#[test]
fn reducing_risk_below_initial_margin_is_allowed_while_maintenance_holds() {
    let m = [market(0, 1_000)];
    let mut pfs = [trader(-940_000), trader(10_000_000)];
    pfs[0].positions[0] =
        clearshard_engine::Position { market_id: 0, base_lots: 1_000, cost_basis: 1_000_000, ..Default::default() };
    // equity 60_000: initial -40_000, maintenance +10_000. Selling 100 lots improves initial health.
    let before = pfs[0].health(&m[..]).unwrap();
    assert!(before.initial < 0 && before.maintenance > 0);
    settle(&m, &mut pfs, &fill(0, 1, 0, false, 100, 1_000)).unwrap();
    assert_eq!(pfs[0].position(0).unwrap().base_lots, 900);
    // Buying more is refused.
    let err = settle(&m, &mut pfs, &fill(0, 1, 0, true, 10, 1_000)).unwrap_err();
    assert_eq!(err.cause, EngineError::Undercollateralized);
}

#[test]
fn open_interest_cap_is_per_shard() {
    let mut m = [market(0, 1_000)];
    m[0].open_interest[0].long = 995;
    let mut pfs = [trader(10_000_000), trader(10_000_000)];
    let err = settle(&m, &mut pfs, &fill(0, 1, 0, true, 6, 1_000)).unwrap_err();
    assert_eq!(err, FillError { fill: 0, cause: EngineError::OpenInterestCapExceeded });
    settle(&m, &mut pfs, &fill(0, 1, 0, true, 5, 1_000)).unwrap();
}

#[test]
fn cross_group_fill_moves_collateral_between_groups() {
    let m = [market(0, 1_000)];
    let mut pfs = [trader(100_000), trader(100_000)];
    let mut refs: Vec<&mut Portfolio> = pfs.iter_mut().collect();
    let flows = settle_fills(&m, &mut refs, &[0, 1], &fill(0, 1, 0, true, 10, 1_000), NOW).unwrap();
    assert_eq!(flows.collateral_delta, [-10_000 - 10, 10_000 + 2]);
    // The maker's rebate is booked with the taker fee that pays it, on the
    // taker's group: no group's fees go negative.
    assert_eq!(flows.markets[0][0].fees, 10 - 2);
    assert_eq!(flows.markets[1][0].fees, 0);
    assert_eq!((flows.markets[0][0].long_delta, flows.markets[0][0].short_delta), (10, 0));
    assert_eq!((flows.markets[1][0].long_delta, flows.markets[1][0].short_delta), (0, 10));
}

#[test]
fn notional_overflow_is_refused() {
    let mut p = params();
    p.tick_size = u64::MAX / 2;
    let big = BatchMarket {
        risk: RiskMarket {
            id: 0,
            params: p,
            oracle_price: u64::MAX / 2,
            reference_price: u64::MAX / 2,
            cumulative_funding: 0,
            cumulative_loss: 0,
        },
        min_price: 0,
        max_price: u64::MAX,
        cost_oracle: u64::MAX / 2,
        open_interest: Default::default(),
        wound_down: false,
        exit_min: 0,
        exit_max: u64::MAX,
    };
    let mut pfs = [trader(0), trader(0)];
    pfs[0].limits.max_deviation_bps = 10_000;
    pfs[1].limits.max_deviation_bps = 10_000;
    let err = settle(&[big], &mut pfs, &fill(0, 1, 0, true, 3, 1)).unwrap_err();
    assert_eq!(err, FillError { fill: 0, cause: EngineError::Overflow });
}

#[test]
fn malformed_batch_is_refused() {
    let mut pfs = [trader(0), trader(0)];
    let err = settle(&[market(0, 1)], &mut pfs, &[0u8; 12]).unwrap_err();
    assert_eq!(err.cause, EngineError::MalformedBatch);
}

#[test]
fn funding_settles_on_every_touched_position() {
    let mut m = [market(0, 1_000), market(1, 1_000)];
    m[0].risk.cumulative_funding = 50;
    m[1].risk.cumulative_funding = -20;
    let mut pfs = [trader(1_000_000), trader(1_000_000)];
    // Long 10 / short 10 in market 0 (traded below) and in market 1 (not traded).
    for (pf, side) in pfs.iter_mut().zip([1i64, -1]) {
        pf.positions[0] = clearshard_engine::Position {
            market_id: 0,
            base_lots: 10 * side,
            cost_basis: 10_000 * side,
            ..Default::default()
        };
        pf.positions[1] = clearshard_engine::Position {
            market_id: 1,
            base_lots: 10 * side,
            cost_basis: 10_000 * side,
            ..Default::default()
        };
    }
    let mut refs: Vec<&mut Portfolio> = pfs.iter_mut().collect();
    let flows = settle_fills(&m, &mut refs, &[0, 1], &fill(0, 1, 0, true, 1, 1_000), NOW).unwrap();
    // Long pays 10 × 50 in market 0 and receives 10 × 20 in market 1: net 300.
    assert_eq!(pfs[0].collateral, 1_000_000 - 300 - 1_000 - 1);
    assert_eq!(pfs[1].collateral, 1_000_000 + 300 + 1_000);
    assert_eq!(flows.collateral_delta, [-300 - 1_000 - 1, 300 + 1_000]);
    for pf in &pfs {
        assert_eq!(pf.position(0).unwrap().funding_snapshot, 50);
        assert_eq!(pf.position(1).unwrap().funding_snapshot, -20);
    }
}

#[test]
fn a_listed_account_no_fill_touches_is_refused() {
    let mut pfs = [trader(1_000_000), trader(1_000_000), trader(1_000_000)];
    let err = settle(&[market(0, 1_000)], &mut pfs, &fill(0, 1, 0, true, 1, 1_000)).unwrap_err();
    assert_eq!(err, FillError { fill: u16::MAX, cause: EngineError::AccountNotInAnyFill });
}

#[test]
fn position_cap_binds_the_sum_of_fills_not_each_fill() {
    let m = [market(0, 1_000)];
    let mut pfs = [trader(10_000_000), trader(10_000_000)];
    pfs[0].limits.max_position_lots = 100;
    // Three fills of 40 lots, each within max_lots_per_fill: the third would make 120.
    let fills =
        [fill(0, 1, 0, true, 40, 1_000), fill(0, 1, 0, true, 40, 1_000), fill(0, 1, 0, true, 40, 1_000)].concat();
    let err = settle(&m, &mut pfs.clone(), &fills).unwrap_err();
    assert_eq!(err, FillError { fill: 2, cause: EngineError::PositionAboveOwnerLimit });
    settle(&m, &mut pfs, &fills[..22]).unwrap();
    assert_eq!(pfs[0].position(0).unwrap().base_lots, 80);
}

/// The attack of the review: a matcher round-trips a victim at the edge of
/// its limits against an accomplice. The adverse-cost budget stops it at the
/// budget exactly, within one window, and the victim loses no more than it.
#[test]
fn round_trips_stop_at_the_adverse_cost_budget() {
    let m = [market(0, 1_000)];
    let mut pfs = [trader(1_000_000), trader(1_000_000)];
    let budget = 5_000;
    pfs[0].limits.max_adverse_cost = budget;
    let equity = |p: &Portfolio| p.health(&m[..]).unwrap().equity;
    let start = equity(&pfs[0]);
    // Victim (taker 0) buys 10 at 1_030 and sells 10 at 970: 300 + 300 adverse
    // plus taker fees ceil(10.3) + ceil(9.7) = 21; each round trip costs 621.
    let round_trip = [fill(0, 1, 0, true, 10, 1_030), fill(0, 1, 0, false, 10, 970)].concat();
    let mut trips = 0;
    while settle(&m, &mut pfs, &round_trip).is_ok() {
        trips += 1;
    }
    assert_eq!(trips, 8, "8 × 621 = 4_968 fits, a 9th (5_589) does not");
    assert_eq!(pfs[0].cost_window.spent, 4_968);
    let lost = start - equity(&pfs[0]);
    assert_eq!(lost, 4_968);
    assert!(lost <= budget as i128);
    // Spending to exactly the budget passes; one unit more is refused.
    let mut exact = pfs;
    exact[0].limits.max_adverse_cost = 4_968 + 330 + 12 - 1;
    let err = settle(&m, &mut exact.clone(), &fill(0, 1, 0, true, 11, 1_030)).unwrap_err();
    assert_eq!(err, FillError { fill: 0, cause: EngineError::AdverseCostBudgetExceeded });
    exact[0].limits.max_adverse_cost = 4_968 + 330 + 12;
    settle(&m, &mut exact, &fill(0, 1, 0, true, 11, 1_030)).unwrap();
    assert_eq!(exact[0].cost_window.spent, exact[0].limits.max_adverse_cost);
}

#[test]
fn a_wound_down_market_trades_no_more_and_closes_at_its_price() {
    let mut pfs = [trader(100_000), trader(100_000)];
    let open = fill(0, 1, 0, true, 10, 1_000);
    settle(&[market(0, 1_000)], &mut pfs, &open).unwrap();
    let wound = BatchMarket { wound_down: true, ..market(0, 1_100) };
    let before = pfs;
    let refused = settle(std::slice::from_ref(&wound), &mut pfs, &fill(0, 1, 0, false, 10, 1_100));
    assert_eq!(refused.unwrap_err(), FillError { fill: 0, cause: EngineError::MarketWoundDown });
    assert_eq!(pfs, before);

    // Each side closes alone at the settlement price, with no fee: the long
    // gains 10 × 100, held as its settlement gain, not collateral; the short
    // loses as much, paid at once; with the gain the cash nets to zero.
    let (long_before, short_before) = (pfs[0].collateral, pfs[1].collateral);
    let long = pfs[0].close_at_price(&wound.risk).unwrap();
    let short = pfs[1].close_at_price(&wound.risk).unwrap();
    assert_eq!((long.position.base_before, long.position.base_after), (10, 0));
    assert_eq!((long.collateral_change, short.collateral_change), (10_000, -11_000));
    assert_eq!((long.position.realized, short.position.realized), (1_000, -1_000));
    assert_eq!((pfs[0].settlement_gain(0), pfs[1].settlement_gain(0)), (1_000, 0));
    let held = pfs[0].settlement_gain(0) as i64;
    assert_eq!(pfs[0].collateral - long_before + held + pfs[1].collateral - short_before, 0);
    // Flat and solvent: the loser's record is forgotten, and the winner never has one.
    assert_eq!((pfs[0].loss_markets().count(), pfs[1].loss_markets().count()), (0, 0));
    assert_eq!(pfs[0].close_at_price(&wound.risk), Err(EngineError::NoPositionToClose));
}

#[test]
fn an_exiting_account_is_closed_out_whatever_its_limits_and_never_grows() {
    let mut pfs = [trader(100_000), trader(100_000)];
    settle(&[market(3, 1_000)], &mut pfs, &fill(0, 1, 0, true, 10, 1_000)).unwrap();
    // The owner revokes every limit (no market, no size, no budget) and asks to exit.
    pfs[0].limits = TradeLimits::default();
    pfs[0].exit_requested_at = NOW - 1;
    let spent = pfs[0].cost_window.spent;
    // A refused batch is rolled back by the transaction: try each on a copy.
    let refused = |pfs: &[Portfolio; 2], f: Vec<u8>| settle(&[market(3, 1_000)], &mut pfs.clone(), &f).unwrap_err();
    assert_eq!(refused(&pfs, fill(0, 1, 0, true, 1, 1_000)), FillError { fill: 0, cause: EngineError::ExitRequested });
    assert_eq!(refused(&pfs, fill(1, 0, 0, false, 11, 1_000)).cause, EngineError::ExitRequested);
    // Reducing, as maker or taker, at a price its limits would have refused.
    settle(&[market(3, 1_000)], &mut pfs, &fill(1, 0, 0, true, 4, 1_030)).unwrap();
    settle(&[market(3, 1_000)], &mut pfs, &fill(0, 1, 0, false, 6, 990)).unwrap();
    assert_eq!(pfs[0].position(3).map_or(0, |p| p.base_lots), 0);
    assert_eq!(pfs[0].cost_window.spent, spent, "an exit is not charged to the budget");
    assert_eq!(refused(&pfs, fill(0, 1, 0, false, 1, 1_000)).cause, EngineError::ExitRequested);
}

#[test]
fn an_exit_costs_at_most_the_exit_band_from_the_breaker_held_oracle() {
    let mut pfs = [trader(100_000), trader(100_000)];
    settle(&[market(3, 1_000)], &mut pfs, &fill(0, 1, 0, false, 10, 1_000)).unwrap();
    pfs[0].exit_requested_at = NOW - 1;
    // A spike: the oracle prints 8% up while the reference stays; the short
    // may be bought back no higher than the exit band above the held oracle.
    let mut spiked = market(3, 1_080);
    spiked.risk.reference_price = 1_000;
    let spiked = BatchMarket::new(spiked.risk, Default::default());
    let bps = u64::from(params().band_bps).min(params().breaker_bps());
    assert_eq!(spiked.cost_oracle, 1_000 + 1_000 * params().breaker_bps() / 10_000);
    assert_eq!(spiked.exit_max, spiked.cost_oracle + spiked.cost_oracle * bps / 10_000);
    assert!(spiked.exit_max < spiked.max_price, "the exit band binds inside the spot band");
    let worst = u32::try_from(spiked.exit_max).unwrap();
    let refused = settle(&[spiked], &mut pfs.clone(), &fill(0, 1, 0, true, 10, worst + 1)).unwrap_err();
    assert_eq!(refused, FillError { fill: 0, cause: EngineError::PriceBeyondExitBand });
    // The counterparty, not exiting, may buy there; the exiting side at the edge passes.
    settle(&[spiked], &mut pfs, &fill(0, 1, 0, true, 10, worst)).unwrap();
    assert_eq!(pfs[0].position(3).map_or(0, |p| p.base_lots), 0);
}
