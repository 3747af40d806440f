//! The settlement pool's payout: every held gain is paid the same share of
//! what is left, whatever the order of claims, and never more than the pool;
//! and where a loser's deficit arose, whatever the order of its closes.

use clearshard_engine::wind_down::gain_payout;
use clearshard_engine::{EngineError, MarketParams, Portfolio, RiskMarket};
use proptest::prelude::*;

fn at(id: u16, price: u64) -> RiskMarket {
    let params = MarketParams::perpetual(1, 1, 0);
    RiskMarket { id, params, oracle_price: price, reference_price: price, cumulative_funding: 0, cumulative_loss: 0 }
}

/// An account short X and long Y, opened at 1,000 each, closes at X's
/// settlement price 1,020 (its short loses 200) and Y's 900 (its long loses
/// 1,000). Its collateral goes negative on the first close if X closes
/// first (the long was financed), only on the last if Y does: either way it
/// records both losses, so a deficit lands on both markets alike.
#[test]
fn a_losers_records_are_the_same_in_either_order_of_closes() {
    let open = |collateral| {
        let mut p = Portfolio { collateral, ..Default::default() };
        p.book(&at(0, 1_000), -10, 1_000, 10_000, 0).unwrap();
        p.book(&at(1, 1_000), 10, 1_000, 10_000, 0).unwrap();
        p
    };
    let close = |mut p: Portfolio, first: RiskMarket, second: RiskMarket| {
        p.close_at_price(&first).unwrap();
        let between = p.loss_markets().collect::<Vec<_>>();
        p.close_at_price(&second).unwrap();
        (p, between)
    };
    let (x, y) = (at(0, 1_020), at(1, 900));
    let ((x_first, between_x), (y_first, between_y)) = (close(open(500), x, y), close(open(500), y, x));
    assert_eq!(x_first, y_first);
    assert_eq!(x_first.collateral, 500 - 200 - 1_000);
    assert_eq!(x_first.loss_markets().collect::<Vec<_>>(), vec![(0, 200), (1, 1_000)]);
    // A losing close records its loss at once, under water or not.
    assert_eq!((between_x, between_y), (vec![(0, 200)], vec![(1, 1_000)]));
    // Solvent once flat: the last close forgets the records (nothing can
    // become a deficit), in either order.
    let ((x_first, _), (y_first, _)) = (close(open(5_000), x, y), close(open(5_000), y, x));
    assert_eq!((x_first.collateral, x_first.loss_markets().count()), (3_800, 0));
    assert_eq!(x_first, y_first);
}

#[test]
fn a_gain_is_paid_its_share_of_the_pool_rounded_down() {
    assert_eq!(gain_payout(300, 900, 1_000), Ok(270));
    assert_eq!(gain_payout(1, 2, 3), Ok(0));
    // No deficit: paid at face.
    assert_eq!(gain_payout(1_000, 1_000, 1_000), Ok(1_000));
    // A pool drained by deficits pays nothing.
    assert_eq!(gain_payout(500, 0, 1_000), Ok(0));
    // Never more than the face, and no face beyond the faces shared among.
    assert_eq!(gain_payout(10, u64::MAX, 10), Ok(10));
    assert_eq!(gain_payout(11, 10, 10), Err(EngineError::Overflow));
    assert_eq!(gain_payout(u64::MAX, u64::MAX - 1, u64::MAX), Ok(u64::MAX - 1));
}

proptest! {
    /// The payouts of any split of the faces sum to at most the pool, each
    /// short of its exact share by less than one unit.
    #[test]
    fn payouts_never_exceed_the_pool(faces in prop::collection::vec(1u64..1u64 << 40, 1..20), cut in 0u64..=100) {
        let total: u64 = faces.iter().sum();
        let pool = (total as u128 * cut as u128 / 100) as u64;
        let mut paid = 0u64;
        for face in &faces {
            let p = gain_payout(*face, pool, total).unwrap();
            prop_assert!(p <= *face);
            prop_assert!((*face as u128 * pool as u128) - (p as u128 * total as u128) < total as u128);
            paid += p;
        }
        prop_assert!(paid <= pool);
        prop_assert!(pool - paid < faces.len() as u64);
    }
}

/// A close's result is its PnL against cost basis: accruals (frozen at the
/// wind-down) settle into collateral first, so whether anyone settled them
/// before (`settle_account`, a fill elsewhere, a withdrawal) changes
/// neither what is recorded nor what is held, nor which of the two it is.
#[test]
fn a_closes_record_and_held_gain_do_not_depend_on_settling_accruals_first() {
    for (price, funding) in [(990, 3), (990, -3), (999, -2), (1_010, 2)] {
        let mut open = Portfolio { collateral: 500, ..Default::default() };
        open.book(&at(0, 1_000), 10, 1_000, 10_000, 0).unwrap();
        let wound = RiskMarket { cumulative_funding: funding, ..at(0, price) };
        let mut direct = open;
        direct.close_at_price(&wound).unwrap();
        let mut settled = open;
        settled.settle_funding(&[wound][..]).unwrap();
        settled.close_at_price(&wound).unwrap();
        assert_eq!(direct, settled, "price {price}, funding {funding}");
        let pnl = 10 * (price as i64 - 1_000);
        assert_eq!(direct.settlement_gain(0), pnl.max(0) as u64);
        assert_eq!(direct.collateral, 500 - 10 * funding + pnl.min(0));
    }
}
