//! The sequence window against a model that remembers every sequence ever
//! used: none is accepted twice, every open one within the window is, and a
//! refusal changes nothing.

use clearshard_engine::{SequenceStatus, SequenceWindow, SEQUENCE_WINDOW};
use proptest::prelude::*;
use std::collections::BTreeSet;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn no_sequence_settles_twice(offsets in prop::collection::vec(0u64..160, 1..300)) {
        let mut window = SequenceWindow::default();
        let mut used = BTreeSet::new();
        for offset in offsets {
            // Around the top of the window: replays, holes, too old, too far ahead.
            let sequence = (window.next + offset).saturating_sub(80);
            let highest = used.last().copied();
            let expected = match highest {
                _ if used.contains(&sequence) && window.next - sequence <= SEQUENCE_WINDOW => SequenceStatus::Used,
                Some(h) if sequence + SEQUENCE_WINDOW <= h => SequenceStatus::TooOld,
                _ if sequence >= window.next + SEQUENCE_WINDOW => SequenceStatus::BeyondWindow,
                _ => SequenceStatus::Open,
            };
            prop_assert_eq!(window.status(sequence), expected, "sequence {} at {:?}", sequence, window);
            let before = window;
            match window.take(sequence) {
                Ok(()) => {
                    prop_assert!(used.insert(sequence), "{} settled twice", sequence);
                    prop_assert_eq!(window.next, before.next.max(sequence + 1));
                }
                Err(status) => {
                    prop_assert_eq!(status, expected);
                    prop_assert_eq!(window, before);
                }
            }
        }
    }
}
