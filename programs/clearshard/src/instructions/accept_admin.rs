use crate::events::AdminChanged;
use crate::state::{seeds, Exchange};
use anchor_lang::prelude::*;

/// Second step of an admin handover: the proposed admin signs and takes over.
#[derive(Accounts)]
pub struct AcceptAdmin<'info> {
    pub new_admin: Signer<'info>,
    #[account(mut, address = seeds::EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
}

pub fn handler(ctx: Context<AcceptAdmin>) -> Result<()> {
    let mut exchange = ctx.accounts.exchange.load_mut()?;
    let signer = ctx.accounts.new_admin.key();
    exchange.require_acceptable(&signer, Clock::get()?.unix_timestamp)?;
    let previous = exchange.admin;
    exchange.admin = signer;
    exchange.pending_admin = Pubkey::default();
    emit!(AdminChanged { previous, admin: signer });
    Ok(())
}
