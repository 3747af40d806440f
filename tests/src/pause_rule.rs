//! The admin's bound on pausing, restated apart from the program: what the
//! stateful suite expects `set_pause` to accept. Every scope (the exchange,
//! each shard) shares one window: it opens with a pause while none is in
//! force, lapses three days later, ends when every pause is lifted or when
//! it lapses, and a new one opens only a day after the last ended. Lifting
//! is always allowed, and a new window is refused while a lapsed pause is
//! still set on another scope (it would revive it).

use clearshard::errors::ClearshardError;
use std::collections::BTreeMap;

const DAY: i64 = 86_400;
const LAPSE: i64 = 3 * DAY;

/// Flags by scope: `None` is the exchange, `Some(i)` shard `i`.
#[derive(Default)]
pub struct PauseRule {
    flags: BTreeMap<Option<u16>, u8>,
    started: i64,
    /// When the last window ended; `None`: there was none.
    ended: Option<i64>,
}

impl PauseRule {
    fn any(&self) -> bool {
        self.flags.values().any(|f| *f != 0)
    }

    /// The flags in force on shard `index` at `now`: its own and the
    /// exchange's, none once the window lapsed.
    pub fn live(&self, index: u16, now: i64) -> u8 {
        if !self.any() || now >= self.started + LAPSE {
            return 0;
        }
        let flags = |scope| self.flags.get(&scope).copied().unwrap_or(0);
        flags(None) | flags(Some(index))
    }

    /// What `set_pause(scope, flags)` at `now` must do: accepted (and
    /// recorded here), or the refusal.
    pub fn set(&mut self, scope: Option<u16>, flags: u8, now: i64) -> Result<(), ClearshardError> {
        let before = self.any();
        let in_force = before && now < self.started + LAPSE;
        if before && !in_force {
            let lapsed = self.started + LAPSE;
            self.ended = Some(self.ended.map_or(lapsed, |e| e.max(lapsed)));
        }
        let current = self.flags.get(&scope).copied().unwrap_or(0);
        let raises = flags & !current != 0;
        let others = self.flags.iter().any(|(s, f)| *s != scope && *f != 0);
        if !in_force && raises && others {
            return Err(ClearshardError::LapsedPauseStillSet);
        }
        if !in_force && raises && self.ended.is_some_and(|ended| now < ended + DAY) {
            return Err(ClearshardError::PauseTooSoon);
        }
        self.flags.insert(scope, flags);
        if in_force && !self.any() {
            self.ended = Some(now);
        }
        if !in_force && raises {
            self.started = now;
        }
        Ok(())
    }
}
