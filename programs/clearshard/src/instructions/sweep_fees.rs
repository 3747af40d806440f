use crate::errors::ClearshardError;
use crate::events::FeesSwept;
use crate::risk;
use crate::state::{seeds, Exchange, Shard, PAUSE_WITHDRAWALS};
use crate::vault;
use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

/// Permissionless: pays a shard's accrued fees to the treasury fixed at
/// `initialize_exchange`, as far as its vault backs them beyond the equity
/// of its accounts at the oracle and the insurance fund's share (owners and
/// the fund come first; the rest stays booked for a later sweep), after the
/// fees repaid what the insurance fund owes the shard. Tokens and
/// booked fees fall together, so no owner's reserve moves. Refused while the
/// shard's withdrawals are paused. Remaining accounts: `(market, oracle)`
/// pairs for every market in which the shard holds a position.
#[derive(Accounts)]
pub struct SweepFees<'info> {
    #[account(address = seeds::EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub shard: AccountLoader<'info, Shard>,
    #[account(mut, address = shard.load()?.vault @ ClearshardError::VaultOfAnotherShard)]
    pub vault: Account<'info, TokenAccount>,
    #[account(mut, address = exchange.load()?.treasury @ ClearshardError::WrongTreasury)]
    pub treasury: Account<'info, TokenAccount>,
    pub token_program: Program<'info, Token>,
}

pub fn handler<'info>(ctx: Context<'info, SweepFees<'info>>) -> Result<()> {
    let Context { accounts, remaining_accounts, .. } = ctx;
    let accounts: &'info _ = accounts;
    let now = Clock::get()?.unix_timestamp;
    let exchange = *accounts.exchange.load()?;
    let mut shard = accounts.shard.load_mut()?;
    exchange.require_open(&shard, PAUSE_WITHDRAWALS, ClearshardError::WithdrawalsPaused, now)?;
    let markets = risk::load_every_market(remaining_accounts, exchange.quote_decimals, now)?;
    let insurance_debt_repaid = shard.repay_insurance_debt_from_fees()?;
    let fees = u64::try_from(shard.fees()?).map_err(|_| error!(ClearshardError::MathOverflow))?;
    let owners_and_fund = shard.reserve(&markets)?.saturating_sub(fees);
    let amount = fees.min(accounts.vault.amount.saturating_sub(owners_and_fund));
    require!(amount > 0 || insurance_debt_repaid > 0, ClearshardError::NoFeesToSweep);
    shard.take_fees(amount)?;
    let index = shard.index;
    drop(shard);
    let treasury = accounts.treasury.to_account_info();
    vault::pay_out(
        &accounts.token_program,
        &accounts.vault,
        treasury,
        accounts.exchange.to_account_info(),
        exchange.bump,
        amount,
    )?;
    emit!(FeesSwept { shard: index, amount, insurance_debt_repaid });
    Ok(())
}
