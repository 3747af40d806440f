use super::bankrupt_account::*;
use crate::errors::ClearshardError;
use anchor_lang::prelude::*;

/// Permissionless: covers a bankrupt account (no positions, negative
/// collateral) from the insurance fund, as far as the fund reaches: first the
/// fund's share of liquidation fees held in the account's shard, then tokens
/// from the insurance vault into the shard's vault.
#[derive(Accounts)]
pub struct ResolveBankruptcy<'info> {
    pub bankrupt: BankruptAccount<'info>,
}

pub fn handler(ctx: Context<ResolveBankruptcy>) -> Result<()> {
    let bankrupt = &ctx.accounts.bankrupt;
    bankrupt.validate()?;
    let cover = bankrupt.cover_from_insurance()?;
    require!(cover.covered > 0, ClearshardError::InsuranceFundEmpty);
    Ok(())
}
