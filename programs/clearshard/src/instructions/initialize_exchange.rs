use crate::errors::ClearshardError;
use crate::state::{seeds, Exchange, MIN_TIMELOCK_SECS};
use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

/// Creates the exchange and its insurance vault; the signer becomes admin.
/// `timelock_secs`: how long value-moving changes wait (at least a day unless
/// `test_venue`). These and the treasury (a token account of the collateral
/// mint, where swept fees go) are fixed for the exchange's life.
#[derive(Accounts)]
pub struct InitializeExchange<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(init, payer = admin, space = Exchange::SPACE, seeds = [seeds::EXCHANGE], bump)]
    pub exchange: AccountLoader<'info, Exchange>,
    pub collateral_mint: Account<'info, Mint>,
    #[account(
        init, payer = admin, seeds = [seeds::INSURANCE], bump,
        token::mint = collateral_mint, token::authority = exchange,
    )]
    pub insurance_vault: Account<'info, TokenAccount>,
    /// Where `sweep_fees` pays the venue's fees, for the exchange's life.
    #[account(constraint = treasury.mint == collateral_mint.key() @ ClearshardError::WrongTreasury)]
    pub treasury: Account<'info, TokenAccount>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<InitializeExchange>, timelock_secs: u32, test_venue: bool) -> Result<()> {
    require!(test_venue || timelock_secs >= MIN_TIMELOCK_SECS, ClearshardError::TimelockTooShort);
    let mut exchange = ctx.accounts.exchange.load_init()?;
    exchange.timelock_secs = timelock_secs;
    exchange.test_venue = u8::from(test_venue);
    exchange.admin = ctx.accounts.admin.key();
    exchange.collateral_mint = ctx.accounts.collateral_mint.key();
    exchange.insurance_vault = ctx.accounts.insurance_vault.key();
    exchange.treasury = ctx.accounts.treasury.key();
    exchange.quote_decimals = ctx.accounts.collateral_mint.decimals;
    exchange.bump = ctx.bumps.exchange;
    Ok(())
}
