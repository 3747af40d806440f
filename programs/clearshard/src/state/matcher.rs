use crate::errors::ClearshardError;
use anchor_lang::prelude::*;

/// A matcher operator allowed to post settlement batches.
///
/// Layout (40 bytes): authority 32, index 2, active 1, bump 1, padding 4.
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
}
const _: () = assert!(core::mem::size_of::<Matcher>() == 40);

impl Matcher {
    pub const SPACE: usize = 8 + core::mem::size_of::<Matcher>();

    pub fn set_active(&mut self, active: bool) {
        self.active = u8::from(active);
    }

    /// Refuses a revoked matcher.
    pub fn require_active(&self) -> Result<()> {
        require!(self.active == 1, ClearshardError::MatcherRevoked);
        Ok(())
    }
}
