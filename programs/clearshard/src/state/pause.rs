//! How long pauses may hold owners in: the admin's bound on pausing. One
//! clock for every scope (the exchange and each shard), since an owner is
//! held in by either its shard's flags or the exchange's: alternating scopes
//! must not chain pauses.

use crate::errors::ClearshardError;
use anchor_lang::prelude::*;

/// Every pause lapses this long after the first of its window began,
/// whether or not it is lifted.
pub const MAX_PAUSE_SECS: i64 = 3 * 86_400;
/// After a window ends (every pause lifted, or lapsed), no new pause starts
/// anywhere for this long: owners get a day out of every four at worst.
pub const PAUSE_GAP_SECS: i64 = 86_400;

/// When the current (or last) pause window began, and when the next may.
#[zero_copy]
#[derive(Debug, Default)]
pub struct PauseWindow {
    pub started_at: i64,
    /// The earliest time a new window may start.
    pub next_from: i64,
    /// When a scope last had its settlement flag set (0: never): whether
    /// the window held matchers back, not only deposits or withdrawals.
    pub settlement_at: i64,
}
const _: () = assert!(core::mem::size_of::<PauseWindow>() == 24);

impl PauseWindow {
    fn lapses_at(&self) -> i64 {
        self.started_at.saturating_add(MAX_PAUSE_SECS)
    }

    /// When the current or last window ended, or will end at the latest
    /// (its lapse) while its pauses are not all lifted: a wind-down counts a
    /// market's silence from there, since no batch could settle before.
    pub fn ends_at(&self) -> i64 {
        let lifted = self.next_from.saturating_sub(PAUSE_GAP_SECS);
        if lifted >= self.started_at {
            lifted
        } else {
            self.lapses_at()
        }
    }

    /// When the current or last window ended, if it held a settlement pause
    /// anywhere (else `i64::MIN`): an exit request waits out its timeout
    /// from there, since no matcher could serve it before. A window before
    /// the last ended at least `PAUSE_GAP_SECS` (longer than any liveness
    /// timeout) before the last began, so it no longer counts.
    pub fn settlement_ends_at(&self) -> i64 {
        if self.settlement_at != 0 && self.settlement_at >= self.started_at {
            self.ends_at()
        } else {
            i64::MIN
        }
    }

    /// Notes that a scope holds the settlement flag after a `set_pause` at `now`.
    pub fn hold_settlement(&mut self, now: i64) {
        self.settlement_at = now;
    }

    /// The flags of `flags` in force at `now`: none once the window lapsed.
    pub fn live(&self, flags: u8, now: i64) -> u8 {
        if now < self.lapses_at() {
            flags
        } else {
            0
        }
    }

    /// Records one `set_pause` at `now`: `paused_before` / `paused_after`,
    /// whether any flag anywhere was set before and after it; `raises`,
    /// whether it set a flag its scope did not have. Lifting is always
    /// allowed; raising within a window in force keeps the window's start;
    /// raising outside one opens a window, a day after the last ended.
    pub fn set(&mut self, paused_before: bool, raises: bool, paused_after: bool, now: i64) -> Result<()> {
        let in_force = paused_before && now < self.lapses_at();
        if paused_before && !in_force {
            // It lapsed: the window ended then, not now.
            self.next_from = self.next_from.max(self.lapses_at().saturating_add(PAUSE_GAP_SECS));
        }
        if in_force {
            if !paused_after {
                self.next_from = now.saturating_add(PAUSE_GAP_SECS);
            }
        } else if raises {
            require!(now >= self.next_from, ClearshardError::PauseTooSoon);
            self.started_at = now;
        }
        Ok(())
    }
}
