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
    /// 1: a test venue, which may list test markets and run without a timelock.
    pub test_venue: u8,
    /// Shards with any pause flag of their own: while any is, no queued
    /// change applies (owners there could not leave first).
    pub shards_paused: u16,
    /// How long a change that can move value waits between queued and applied.
    pub timelock_secs: u32,
    /// The successor the admin proposed, until it accepts (default: none).
    pub pending_admin: Pubkey,
    /// When the proposed admin may accept: the handover waits out the timelock.
    pub pending_admin_due: i64,
    /// When the last pause anywhere (exchange or shard) was lifted: a change
    /// queued before it cannot apply, since owners could not leave for part
    /// of its delay.
    pub unpaused_at: i64,
}
const _: () = assert!(core::mem::size_of::<Exchange>() == 160);

/// The shortest timelock of a venue that is not a test venue: a day for
/// owners to see a queued change and leave.
pub const MIN_TIMELOCK_SECS: u32 = 86_400;

impl Exchange {
    pub const SPACE: usize = 8 + core::mem::size_of::<Exchange>();

    /// Whether nothing is paused anywhere, on the exchange or on any shard.
    pub fn unpaused(&self) -> bool {
        self.pause_flags == 0 && self.shards_paused == 0
    }

    /// Refuses a change queued at `queued_at` unless owners could leave all
    /// along since: nothing paused now, nor lifted since it was queued (so an
    /// unpause, apply and pause again in one transaction is refused too).
    pub fn require_unpaused_since(&self, queued_at: i64) -> Result<()> {
        require!(self.unpaused() && self.unpaused_at <= queued_at, ClearshardError::ChangeBlockedByPause);
        Ok(())
    }

    /// Fails with `paused_error` if `flag` is set here or on the shard.
    pub fn require_open(&self, shard_flags: u8, flag: u8, paused_error: ClearshardError) -> Result<()> {
        if (self.pause_flags | shard_flags) & flag != 0 {
            return Err(paused_error.into());
        }
        Ok(())
    }
}
