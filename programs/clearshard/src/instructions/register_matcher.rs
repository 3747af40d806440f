use crate::errors::ClearshardError;
use crate::events::MatcherChanged;
use crate::state::{seeds, Exchange, Matcher, MAX_MATCHERS};
use anchor_lang::prelude::*;

/// Allows `authority` to post settlement batches once the exchange's
/// timelock has run (`Matcher::active_from`); the admin may revoke it at once.
#[derive(Accounts)]
pub struct RegisterMatcher<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(mut, address = seeds::EXCHANGE_ADDRESS, has_one = admin @ ClearshardError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    /// CHECK: any key may be a matcher authority; it signs its batches.
    pub authority: UncheckedAccount<'info>,
    #[account(init, payer = admin, space = Matcher::SPACE, seeds = [seeds::MATCHER, authority.key().as_ref()], bump)]
    pub matcher: AccountLoader<'info, Matcher>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<RegisterMatcher>) -> Result<()> {
    let mut exchange = ctx.accounts.exchange.load_mut()?;
    require!(exchange.matcher_count < MAX_MATCHERS, ClearshardError::TooManyMatchers);
    let mut matcher = ctx.accounts.matcher.load_init()?;
    matcher.authority = ctx.accounts.authority.key();
    matcher.index = exchange.matcher_count;
    matcher.set_active(true);
    matcher.bump = ctx.bumps.matcher;
    let now = Clock::get()?.unix_timestamp;
    matcher.active_from = exchange.due(now)?.unwrap_or(now);
    exchange.matcher_count = exchange.matcher_count.saturating_add(1);
    emit!(MatcherChanged {
        authority: matcher.authority,
        index: matcher.index,
        active: true,
        active_from: matcher.active_from,
    });
    Ok(())
}
