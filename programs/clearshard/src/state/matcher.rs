use anchor_lang::prelude::*;

/// A matcher operator allowed to post settlement batches.
#[account(zero_copy)]
#[derive(Debug)]
pub struct Matcher {
    pub authority: Pubkey,
    /// Slot in every shard's sequence array.
    pub index: u16,
    pub active: u8,
    pub bump: u8,
    pub _padding: [u8; 4],
}
const _: () = assert!(core::mem::size_of::<Matcher>() == 40);

impl Matcher {
    pub const SPACE: usize = 8 + core::mem::size_of::<Matcher>();
}
