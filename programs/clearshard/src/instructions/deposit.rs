use super::collateral_accounts::CollateralAccounts;
use crate::errors::ClearshardError;
use crate::events::CollateralMoved;
use crate::state::PAUSE_DEPOSITS;
use crate::vault;
use anchor_lang::prelude::*;

/// Moves `amount` collateral tokens from the owner into the shard's vault.
pub fn handler(ctx: Context<CollateralAccounts>, amount: u64) -> Result<()> {
    let accounts = &ctx.accounts;
    require!(amount > 0, ClearshardError::ZeroAmount);
    accounts.require_open(PAUSE_DEPOSITS, ClearshardError::DepositsPaused)?;
    let signed = i64::try_from(amount).map_err(|_| error!(ClearshardError::MathOverflow))?;
    let (shard_index, collateral_after) = {
        let mut margin = accounts.margin_account.load_mut()?;
        margin.portfolio.credit(signed).map_err(ClearshardError::from)?;
        let mut shard = accounts.shard.load_mut()?;
        shard.add_claims(signed)?;
        (shard.index, margin.portfolio.collateral)
    };
    vault::pay_in(
        &accounts.token_program,
        &accounts.owner_token,
        &accounts.vault,
        accounts.owner.to_account_info(),
        amount,
    )?;
    emit!(CollateralMoved {
        account: accounts.margin_account.key(),
        shard: shard_index,
        amount: signed,
        collateral_after
    });
    Ok(())
}
