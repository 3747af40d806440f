use crate::errors::ClearshardError;
use crate::state::{seeds, Exchange, Shard, PAUSE_ALL};
use anchor_lang::prelude::*;

/// Sets the pause flags of the whole exchange, or of one shard when a shard
/// account is given. Flags: deposits, withdrawals, settlement. Lifting the
/// last pause anywhere stamps `Exchange::unpaused_at`: changes queued before
/// it must be queued again.
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
    let mut exchange = ctx.accounts.exchange.load_mut()?;
    let was_unpaused = exchange.unpaused();
    match &ctx.accounts.shard {
        Some(shard) => {
            let mut shard = shard.load_mut()?;
            exchange.shards_paused = match (shard.pause_flags != 0, flags != 0) {
                (false, true) => exchange.shards_paused.saturating_add(1),
                (true, false) => exchange.shards_paused.saturating_sub(1),
                _ => exchange.shards_paused,
            };
            shard.pause_flags = flags;
        }
        None => exchange.pause_flags = flags,
    }
    if !was_unpaused && exchange.unpaused() {
        exchange.unpaused_at = Clock::get()?.unix_timestamp;
    }
    Ok(())
}
