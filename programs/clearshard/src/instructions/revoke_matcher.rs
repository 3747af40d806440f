use crate::errors::ClearshardError;
use crate::events::MatcherChanged;
use crate::state::{seeds, Exchange, Matcher};
use anchor_lang::prelude::*;

/// Stops a matcher from posting batches; its sequences stay where they are.
#[derive(Accounts)]
pub struct RevokeMatcher<'info> {
    pub admin: Signer<'info>,
    #[account(address = seeds::EXCHANGE_ADDRESS, has_one = admin @ ClearshardError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub matcher: AccountLoader<'info, Matcher>,
}

pub fn handler(ctx: Context<RevokeMatcher>) -> Result<()> {
    let mut matcher = ctx.accounts.matcher.load_mut()?;
    matcher.set_active(false);
    emit!(MatcherChanged {
        authority: matcher.authority,
        index: matcher.index,
        active: false,
        active_from: matcher.active_from,
    });
    Ok(())
}
