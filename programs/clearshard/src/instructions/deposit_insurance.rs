use crate::errors::ClearshardError;
use crate::state::{seeds, Exchange};
use crate::vault;
use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

/// Anyone may fund the insurance fund (the venue seeds it; liquidation fees top it up).
#[derive(Accounts)]
pub struct DepositInsurance<'info> {
    pub funder: Signer<'info>,
    #[account(address = seeds::EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, constraint = source.mint == exchange.load()?.collateral_mint @ ClearshardError::WrongMint)]
    pub source: Account<'info, TokenAccount>,
    #[account(mut, address = exchange.load()?.insurance_vault @ ClearshardError::WrongInsuranceVault)]
    pub insurance_vault: Account<'info, TokenAccount>,
    pub token_program: Program<'info, Token>,
}

pub fn handler(ctx: Context<DepositInsurance>, amount: u64) -> Result<()> {
    require!(amount > 0, ClearshardError::ZeroAmount);
    let a = &ctx.accounts;
    vault::pay_in(&a.token_program, &a.source, &a.insurance_vault, a.funder.to_account_info(), amount)
}
