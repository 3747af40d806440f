//! The anti-replay window of one matcher on one shard (as IPsec and DTLS keep
//! one). Transactions sent together land in any order, so a matcher may keep
//! up to `SEQUENCE_WINDOW` batches per shard in flight: any sequence within
//! the window that has not been used settles; a replay, a sequence that has
//! fallen below the window, or one too far above it fails with its own error.
//! A sequence that never settles (a refused batch) is a hole: the window
//! slides past it as later sequences land, and the matcher re-sends those
//! fills under new sequences.

use bytemuck::{Pod, Zeroable};

/// Sequences a window spans: one bit each.
pub const SEQUENCE_WINDOW: u64 = 64;

crate::idl::on_chain_type! {
    /// 16 bytes, embedded per matcher in the on-chain `Shard`. Zeroed: nothing
    /// used yet, sequences 0..64 open.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
    pub struct SequenceWindow {
        /// One above the highest sequence used so far.
        pub next: u64,
        /// Bit `i` set: sequence `next − 1 − i` was used.
        pub used: u64,
    }
}

/// Where a sequence stands against a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SequenceStatus {
    /// Within the window and unused: a batch carrying it settles.
    Open,
    /// Within the window and used: a batch carrying it is a replay.
    Used,
    /// Below the window: used or a hole, it can never settle.
    TooOld,
    /// `SEQUENCE_WINDOW` or more above the next sequence.
    BeyondWindow,
}

impl SequenceWindow {
    /// The bit of a sequence below `next`, if it is within the window.
    fn bit_below(&self, sequence: u64) -> Option<u64> {
        let back = self.next.checked_sub(sequence)?.checked_sub(1)?;
        (back < SEQUENCE_WINDOW).then(|| 1u64 << back)
    }

    pub fn status(&self, sequence: u64) -> SequenceStatus {
        if sequence >= self.next {
            // `next + SEQUENCE_WINDOW` may not exist: the last sequences are beyond.
            let ahead = sequence.wrapping_sub(self.next);
            return if ahead < SEQUENCE_WINDOW && sequence < u64::MAX {
                SequenceStatus::Open
            } else {
                SequenceStatus::BeyondWindow
            };
        }
        match self.bit_below(sequence) {
            None => SequenceStatus::TooOld,
            Some(bit) if self.used & bit != 0 => SequenceStatus::Used,
            Some(_) => SequenceStatus::Open,
        }
    }

    /// Uses `sequence` if it is open, sliding the window up when it is the
    /// highest so far; otherwise returns where it stands and changes nothing.
    pub fn take(&mut self, sequence: u64) -> Result<(), SequenceStatus> {
        match self.status(sequence) {
            SequenceStatus::Open => {}
            refused => return Err(refused),
        }
        match self.bit_below(sequence) {
            Some(bit) => self.used |= bit,
            None => {
                // Open and not below `next`: `sequence + 1` exists (status).
                let shift = sequence.wrapping_sub(self.next).wrapping_add(1);
                self.used = self.used.checked_shl(u32::try_from(shift).unwrap_or(u32::MAX)).unwrap_or(0) | 1;
                self.next = sequence.wrapping_add(1);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_landing_out_of_order_within_the_window_settle_once() {
        let mut w = SequenceWindow::default();
        assert_eq!(w.take(2), Ok(()));
        assert_eq!(w.take(0), Ok(()));
        assert_eq!(w.take(1), Ok(()));
        assert_eq!((w.next, w.used), (3, 0b111));
        for s in 0..3 {
            assert_eq!(w.take(s), Err(SequenceStatus::Used));
        }
        assert_eq!(w.take(3 + SEQUENCE_WINDOW), Err(SequenceStatus::BeyondWindow));
        assert_eq!(w.take(2 + SEQUENCE_WINDOW), Ok(()));
        assert_eq!(w.next, 3 + SEQUENCE_WINDOW);
    }

    #[test]
    fn the_window_slides_past_a_hole_which_then_is_too_old() {
        let mut w = SequenceWindow::default();
        w.take(0).unwrap();
        // Sequence 1 is refused for good: a hole. Later batches still land.
        for s in 2..=SEQUENCE_WINDOW {
            w.take(s).unwrap();
        }
        assert_eq!(w.status(1), SequenceStatus::Open);
        w.take(SEQUENCE_WINDOW + 1).unwrap();
        assert_eq!(w.status(1), SequenceStatus::TooOld);
        assert_eq!(w.take(1), Err(SequenceStatus::TooOld));
        assert_eq!(w.take(0), Err(SequenceStatus::TooOld));
        assert_eq!(w.status(2), SequenceStatus::Used);
    }

    #[test]
    fn a_jump_of_a_whole_window_clears_the_bitmap() {
        let mut w = SequenceWindow { next: 10, used: u64::MAX };
        w.take(10 + SEQUENCE_WINDOW - 1).unwrap();
        assert_eq!((w.next, w.used), (10 + SEQUENCE_WINDOW, 1));
        // What was skipped is open while in the window; what was used before is gone below it.
        assert_eq!(w.status(10), SequenceStatus::Open);
        assert_eq!(w.status(9), SequenceStatus::TooOld);
    }

    #[test]
    fn the_last_sequences_are_beyond_reach() {
        let mut w = SequenceWindow { next: u64::MAX - 1, used: 1 };
        assert_eq!(w.take(u64::MAX), Err(SequenceStatus::BeyondWindow));
        assert_eq!(w.take(u64::MAX - 1), Ok(()));
        assert_eq!(w.next, u64::MAX);
        assert_eq!(w.take(u64::MAX), Err(SequenceStatus::BeyondWindow));
    }
}
