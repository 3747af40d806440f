use super::{PauseWindow, Shard, PAUSE_DEPOSITS, PAUSE_WITHDRAWALS};
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
    /// Where `sweep_fees` pays the venue's fees: fixed at initialization.
    pub treasury: Pubkey,
    /// The clock of every pause, the exchange's and the shards': they lapse
    /// together, and a new one waits a day after the last ended.
    pub pause: PauseWindow,
}
const _: () = assert!(core::mem::size_of::<Exchange>() == 216);

/// The shortest timelock of a venue that is not a test venue: a day for
/// owners to see a queued change and leave.
pub const MIN_TIMELOCK_SECS: u32 = 86_400;

impl Exchange {
    pub const SPACE: usize = 8 + core::mem::size_of::<Exchange>();

    /// When a change queued now may apply; `None`: it applies at once (a test
    /// venue without a timelock).
    pub fn due(&self, now: i64) -> Result<Option<i64>> {
        if self.timelock_secs == 0 {
            return Ok(None);
        }
        now.checked_add(i64::from(self.timelock_secs)).map(Some).ok_or_else(|| error!(ClearshardError::MathOverflow))
    }

    /// Refuses to hand the exchange over unless `signer` was proposed and
    /// the proposal is due and not stale: it lapses a timelock (at least a
    /// day) after it became acceptable, so a forgotten proposal cannot be
    /// taken up at a moment of a thief's choosing.
    pub fn require_acceptable(&self, signer: &Pubkey, now: i64) -> Result<()> {
        require!(self.pending_admin != Pubkey::default(), ClearshardError::NotProposedAdmin);
        require_keys_eq!(self.pending_admin, *signer, ClearshardError::NotProposedAdmin);
        require!(now >= self.pending_admin_due, ClearshardError::ChangeNotDue);
        let window = i64::from(self.timelock_secs.max(MIN_TIMELOCK_SECS));
        require!(now.saturating_sub(self.pending_admin_due) <= window, ClearshardError::ChangeExpired);
        Ok(())
    }

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

    /// The exchange-wide pause flags in force at `now` (none once lapsed).
    pub fn live_pause(&self, now: i64) -> u8 {
        self.pause.live(self.pause_flags, now)
    }

    /// Fails with `paused_error` if `flag` is in force here or on the shard.
    pub fn require_open(&self, shard: &Shard, flag: u8, paused_error: ClearshardError, now: i64) -> Result<()> {
        if self.pause.live(self.pause_flags | shard.pause_flags, now) & flag != 0 {
            return Err(paused_error.into());
        }
        Ok(())
    }

    /// The one rule for value crossing between shards (a transfer, a fill
    /// across shards, a cross-shard liquidator's reward, the insurance share
    /// or a socialized loss drawn from other shards): it leaves `from` as a
    /// withdrawal would and enters `to` as a deposit would, so either pause
    /// holds it. What crosses only through a market's funding or loss index
    /// settles when each account is next touched, as it would unpaused.
    pub fn require_value_may_move(&self, from: &Shard, to: &Shard, now: i64) -> Result<()> {
        self.require_open(from, PAUSE_WITHDRAWALS, ClearshardError::WithdrawalsPaused, now)?;
        self.require_open(to, PAUSE_DEPOSITS, ClearshardError::DepositsPaused, now)
    }
}
