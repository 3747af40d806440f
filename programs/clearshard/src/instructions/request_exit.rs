use crate::errors::ClearshardError;
use crate::events::ExitRequestChanged;
use crate::state::MarginAccount;
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct RequestExit<'info> {
    pub owner: Signer<'info>,
    #[account(mut, has_one = owner @ ClearshardError::NotOwner)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
}

/// The owner asks to be closed out, or withdraws the request. While it
/// stands, fills may only reduce the account's positions, within the exit
/// band (`MarketParams::exit_band`) whatever its limits and budget, so that
/// a matcher can always serve it. A market that still holds a position of
/// the account, and the account no other, its liveness timeout after the
/// request (settlement pauses excepted) may be wound down by anyone
/// (`wind_down_market`): a matcher that censors an owner, or keeps a market
/// alive to bleed it through funding, keeps it at most that long.
pub fn handler(ctx: Context<RequestExit>, requested: bool) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let account = ctx.accounts.margin_account.key();
    let mut margin = ctx.accounts.margin_account.load_mut()?;
    let portfolio = &mut margin.portfolio;
    require!(portfolio.is_exiting() != requested, ClearshardError::ExitRequestUnchanged);
    portfolio.exit_requested_at = if requested { now } else { 0 };
    emit!(ExitRequestChanged { account, owner: margin.owner, requested_at: margin.portfolio.exit_requested_at });
    Ok(())
}
