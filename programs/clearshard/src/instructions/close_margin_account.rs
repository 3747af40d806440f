use crate::errors::ClearshardError;
use crate::state::{MarginAccount, Shard};
use anchor_lang::prelude::*;

/// Closes an empty margin account (no positions, zero collateral, no
/// settlement gain or recovery to be paid) and returns its rent to the owner. A loss it still
/// records can no longer become a deficit: its shard stops counting it.
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
    let portfolio = &margin.portfolio;
    require!(
        portfolio.collateral == 0 && !portfolio.has_open_positions() && !portfolio.holds_settlement_claims(),
        ClearshardError::MarginAccountNotEmpty
    );
    let mut shard = ctx.accounts.shard.load_mut()?;
    shard.margin_accounts = shard.margin_accounts.saturating_sub(1);
    shard.count_loss_records(&portfolio.liquidation_losses, &[0; clearshard_engine::portfolio::MAX_MARKETS])?;
    Ok(())
}
