use crate::errors::ClearshardError;
use crate::state::{seeds, Exchange, Shard, PAUSE_ALL, PAUSE_SETTLEMENT};
use anchor_lang::prelude::*;

/// Sets the pause flags of the whole exchange, or of one shard when a shard
/// account is given. Flags: deposits, withdrawals, settlement. Every pause
/// lapses `MAX_PAUSE_SECS` after the window of pauses it belongs to began,
/// and a pause outside a window waits `PAUSE_GAP_SECS` after the last window
/// ended (`PauseTooSoon`), on whichever scope. Lifting the last
/// pause anywhere stamps `Exchange::unpaused_at`: changes queued before it
/// must be queued again.
#[derive(Accounts)]
pub struct SetPause<'info> {
    pub admin: Signer<'info>,
    #[account(mut, address = seeds::EXCHANGE_ADDRESS, has_one = admin @ ClearshardError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub shard: Option<AccountLoader<'info, Shard>>,
}

pub fn handler(ctx: Context<SetPause>, flags: u8) -> Result<()> {
    let flags = flags & PAUSE_ALL;
    let now = Clock::get()?.unix_timestamp;
    let mut exchange = ctx.accounts.exchange.load_mut()?;
    let was_unpaused = exchange.unpaused();
    let in_window = !was_unpaused && exchange.pause.live(PAUSE_ALL, now) != 0;
    let current = match &ctx.accounts.shard {
        Some(shard) => {
            let mut shard = shard.load_mut()?;
            let current = shard.pause_flags;
            let others_paused = exchange.pause_flags != 0 || exchange.shards_paused > u16::from(current != 0);
            require_fresh_window(in_window, flags & !current != 0, others_paused)?;
            exchange.shards_paused = match (current != 0, flags != 0) {
                (false, true) => exchange.shards_paused.saturating_add(1),
                (true, false) => exchange.shards_paused.saturating_sub(1),
                _ => exchange.shards_paused,
            };
            shard.pause_flags = flags;
            current
        }
        None => {
            require_fresh_window(in_window, flags & !exchange.pause_flags != 0, exchange.shards_paused > 0)?;
            core::mem::replace(&mut exchange.pause_flags, flags)
        }
    };
    let paused_after = !exchange.unpaused();
    exchange.pause.set(!was_unpaused, flags & !current != 0, paused_after, now)?;
    if flags & PAUSE_SETTLEMENT != 0 {
        exchange.pause.hold_settlement(now);
    }
    if !was_unpaused && !paused_after {
        exchange.unpaused_at = now;
    }
    Ok(())
}

/// A pause that opens a new window must not revive flags that lapsed on
/// other scopes (they would be in force again, unannounced): those are lifted
/// first, in the same transaction if need be.
fn require_fresh_window(in_window: bool, raises: bool, others_paused: bool) -> Result<()> {
    require!(in_window || !raises || !others_paused, ClearshardError::LapsedPauseStillSet);
    Ok(())
}
