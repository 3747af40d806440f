use crate::errors::ClearshardError;
use crate::state::{MarginAccount, Shard};
use anchor_lang::prelude::*;

/// Closes an empty margin account (no positions, zero collateral) and returns
/// its rent to the owner.
#[derive(Accounts)]
pub struct CloseMarginAccount<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(mut)]
    pub shard: AccountLoader<'info, Shard>,
    #[account(mut, close = owner, has_one = owner @ ClearshardError::NotOwner)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
}

pub fn handler(ctx: Context<CloseMarginAccount>) -> Result<()> {
    let margin = ctx.accounts.margin_account.load()?;
    ctx.accounts.shard.load()?.require_holds(&margin)?;
    require!(
        margin.portfolio.collateral == 0 && !margin.portfolio.has_open_positions(),
        ClearshardError::MarginAccountNotEmpty
    );
    let mut shard = ctx.accounts.shard.load_mut()?;
    shard.margin_accounts = shard.margin_accounts.saturating_sub(1);
    Ok(())
}
