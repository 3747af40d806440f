use crate::errors::ClearshardError;
use crate::events::AdminProposed;
use crate::state::{seeds, Exchange};
use anchor_lang::prelude::*;

/// First step of an admin handover: the admin names its successor, who must
/// accept with its own signature (`accept_admin`), so a mistyped key cannot
/// take the exchange, and only once the timelock has run, so that a stolen
/// key cannot lock the team out unseen. Naming `Pubkey::default()` withdraws
/// a proposal.
#[derive(Accounts)]
pub struct ProposeAdmin<'info> {
    pub admin: Signer<'info>,
    #[account(mut, address = seeds::EXCHANGE_ADDRESS, has_one = admin @ ClearshardError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
}

pub fn handler(ctx: Context<ProposeAdmin>, new_admin: Pubkey) -> Result<()> {
    let mut exchange = ctx.accounts.exchange.load_mut()?;
    exchange.pending_admin = new_admin;
    let now = Clock::get()?.unix_timestamp;
    exchange.pending_admin_due = exchange.due(now)?.unwrap_or(now);
    emit!(AdminProposed { admin: exchange.admin, proposed: new_admin });
    Ok(())
}
