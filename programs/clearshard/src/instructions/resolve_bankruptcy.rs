use super::bankrupt_account::*;
use crate::errors::ClearshardError;
use crate::events::BankruptcyResolved;
use crate::vault;
use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use clearshard_engine::liquidation::bankruptcy_deficit;

/// Permissionless: covers a bankrupt account (no positions, negative
/// collateral) from the insurance fund, as far as the fund reaches. Tokens move
/// from the insurance vault into the account's shard vault.
#[derive(Accounts)]
pub struct ResolveBankruptcy<'info> {
    pub bankrupt: BankruptAccount<'info>,
    #[account(mut, address = bankrupt.shard.load()?.vault @ ClearshardError::VaultOfAnotherShard)]
    pub vault: Account<'info, TokenAccount>,
    #[account(mut, address = bankrupt.exchange.load()?.insurance_vault @ ClearshardError::WrongInsuranceVault)]
    pub insurance_vault: Account<'info, TokenAccount>,
    pub token_program: Program<'info, Token>,
}

pub fn handler(ctx: Context<ResolveBankruptcy>) -> Result<()> {
    let accounts = &ctx.accounts;
    let bankrupt = &accounts.bankrupt;
    let deficit = bankruptcy_deficit(&bankrupt.account.load()?.portfolio).map_err(ClearshardError::from)?;
    let covered = deficit.min(accounts.insurance_vault.amount);
    require!(covered > 0, ClearshardError::InsuranceFundEmpty);
    let signed = covered as i64; // covered <= deficit <= i64::MAX
    bankrupt.account.load_mut()?.portfolio.credit(signed).map_err(ClearshardError::from)?;
    bankrupt.shard.load_mut()?.add_claims(signed)?;
    vault::pay_out(
        &accounts.token_program,
        &accounts.insurance_vault,
        accounts.vault.to_account_info(),
        bankrupt.exchange.to_account_info(),
        bankrupt.exchange.load()?.bump,
        covered,
    )?;
    emit!(BankruptcyResolved { account: bankrupt.account.key(), covered, uncovered: deficit - covered });
    Ok(())
}
