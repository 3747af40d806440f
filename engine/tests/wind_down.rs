//! The settlement pool's payout: every held gain is paid the same share of
//! what is left, whatever the order of claims, and never more than the pool.

use clearshard_engine::wind_down::gain_payout;
use clearshard_engine::EngineError;
use proptest::prelude::*;

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
