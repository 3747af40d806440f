//! The stateful suite's admin: pauses and their lifts, checked against the
//! pause rule.

use super::*;

impl World {
    /// The admin pauses something, or lifts a pause; a pause too soon after
    /// the last one on its scope is refused, and the admin now and then
    /// waits out the gap.
    pub(super) async fn pause(&mut self) -> Result<Vec<Pubkey>, String> {
        let flags = if self.rng.chance(50) { 0 } else { self.rng.range(1, u64::from(PAUSE_ALL) + 1) as u8 };
        let shard = if self.rng.chance(50) { None } else { Some(self.rng.range(0, u64::from(SHARDS)) as u16) };
        self.set_pause(shard, flags).await?;
        if flags != 0 && self.rng.chance(50) {
            self.set_pause(shard, 0).await?;
        }
        Ok(vec![])
    }

    /// `set_pause`, checked against the rule.
    pub(super) async fn set_pause(&mut self, scope: Option<u16>, flags: u8) -> Result<(), String> {
        let now = self.v.ex.now().await;
        let r = self.v.try_pause(scope, flags).await;
        let expected = self.pauses.set(scope, flags, now);
        self.note("pause", format!("{scope:?} {flags:#b}"), &r);
        match (&r, expected) {
            (Ok(()), Ok(())) => Ok(()),
            (Err(e), Err(refusal)) if error_code(e) == Some(u32::from(refusal)) => {
                if self.rng.chance(50) {
                    self.v.ex.advance_clock(PAUSE_GAP_SECS).await;
                    self.log.push("clock +1 day".to_string());
                }
                Ok(())
            }
            _ => Err(format!("set_pause {scope:?} {flags:#b} at {now}: {r:?}, the rule expects {expected:?}")),
        }
    }
}
