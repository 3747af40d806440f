use crate::errors::ClearshardError;
use anchor_lang::prelude::*;

/// A matcher operator allowed to post settlement batches.
///
/// Layout (48 bytes): authority 32, index 2, active 1, bump 1, padding 4,
/// active from 8.
#[account(zero_copy)]
#[derive(Debug)]
pub struct Matcher {
    pub authority: Pubkey,
    /// Slot in every shard's sequence array.
    pub index: u16,
    /// 1 while the matcher may post batches, 0 once revoked.
    pub active: u8,
    pub bump: u8,
    pub _padding: [u8; 4],
    /// A new matcher posts no batch before this time: its registration waits
    /// out the exchange's timelock like any change that can move value.
    pub active_from: i64,
}
const _: () = assert!(core::mem::size_of::<Matcher>() == 48);

impl Matcher {
    pub const SPACE: usize = 8 + core::mem::size_of::<Matcher>();

    pub fn set_active(&mut self, active: bool) {
        self.active = u8::from(active);
    }

    /// Refuses a matcher still within its registration's timelock.
    pub fn require_past_timelock(&self, now: i64) -> Result<()> {
        require!(now >= self.active_from, ClearshardError::MatcherNotYetActive);
        Ok(())
    }

    /// Refuses a revoked matcher.
    pub fn require_active(&self) -> Result<()> {
        require!(self.active == 1, ClearshardError::MatcherRevoked);
        Ok(())
    }
}
