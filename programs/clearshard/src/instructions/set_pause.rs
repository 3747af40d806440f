use crate::errors::ClearshardError;
use crate::state::{seeds, Exchange, Shard, PAUSE_ALL};
use anchor_lang::prelude::*;

/// Sets the pause flags of the whole exchange, or of one shard when a shard
/// account is given. Flags: deposits, withdrawals, settlement.
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
    match &ctx.accounts.shard {
        Some(shard) => shard.load_mut()?.pause_flags = flags,
        None => ctx.accounts.exchange.load_mut()?.pause_flags = flags,
    }
    Ok(())
}
