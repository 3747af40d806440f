use crate::errors::ClearshardError;
use crate::events::BankruptcyResolved;
use crate::state::{seeds, Exchange, MarginAccount, Shard};
use crate::vault;
use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use clearshard_engine::liquidation::bankruptcy_deficit;

/// Permissionless: covers a bankrupt account (no positions, negative
/// collateral) from the insurance fund, as far as the fund reaches. Tokens move
/// from the insurance vault into the account's shard vault.
#[derive(Accounts)]
pub struct ResolveBankruptcy<'info> {
    #[account(seeds = [seeds::EXCHANGE], bump = exchange.load()?.bump)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(
        mut,
        constraint = account.load()?.shard == shard.load()?.index @ ClearshardError::MarginAccountOfAnotherShard,
    )]
    pub account: AccountLoader<'info, MarginAccount>,
    #[account(mut)]
    pub shard: AccountLoader<'info, Shard>,
    #[account(mut, address = shard.load()?.vault @ ClearshardError::VaultOfAnotherShard)]
    pub vault: Account<'info, TokenAccount>,
    #[account(mut, address = exchange.load()?.insurance_vault @ ClearshardError::WrongInsuranceVault)]
    pub insurance_vault: Account<'info, TokenAccount>,
    pub token_program: Program<'info, Token>,
}

pub fn handler(ctx: Context<ResolveBankruptcy>) -> Result<()> {
    let accounts = &ctx.accounts;
    let deficit = bankruptcy_deficit(&accounts.account.load()?.portfolio).map_err(ClearshardError::from)?;
    let covered = deficit.min(accounts.insurance_vault.amount);
    require!(covered > 0, ClearshardError::InsuranceFundEmpty);
    let signed = covered as i64; // covered <= deficit <= i64::MAX
    accounts.account.load_mut()?.portfolio.credit(signed).map_err(ClearshardError::from)?;
    accounts.shard.load_mut()?.add_claims(signed)?;
    vault::pay_out(
        &accounts.token_program,
        &accounts.insurance_vault,
        accounts.vault.to_account_info(),
        accounts.exchange.to_account_info(),
        accounts.exchange.load()?.bump,
        covered,
    )?;
    emit!(BankruptcyResolved { account: accounts.account.key(), covered, uncovered: deficit - covered });
    Ok(())
}
