use crate::errors::ClearshardError;
use anchor_lang::prelude::*;

/// Global configuration; written by the admin only, read-only on the hot path.
/// Its PDA is also the authority of every vault.
#[account(zero_copy)]
#[derive(Debug)]
pub struct Exchange {
    pub admin: Pubkey,
    pub collateral_mint: Pubkey,
    pub insurance_vault: Pubkey,
    pub shard_count: u16,
    pub market_count: u16,
    pub matcher_count: u16,
    pub pause_flags: u8,
    /// Decimals of the collateral mint, used to scale oracle prices.
    pub quote_decimals: u8,
    pub bump: u8,
    pub _padding: [u8; 7],
}
const _: () = assert!(core::mem::size_of::<Exchange>() == 112);

impl Exchange {
    pub const SPACE: usize = 8 + core::mem::size_of::<Exchange>();

    /// Fails with `paused_error` if `flag` is set here or on the shard.
    pub fn require_open(&self, shard_flags: u8, flag: u8, paused_error: ClearshardError) -> Result<()> {
        if (self.pause_flags | shard_flags) & flag != 0 {
            return Err(paused_error.into());
        }
        Ok(())
    }
}
