use super::collateral_accounts::CollateralAccounts;
use crate::errors::ClearshardError;
use crate::events::CollateralMoved;
use crate::state::PAUSE_WITHDRAWALS;
use crate::{risk, vault};
use anchor_lang::prelude::*;
use clearshard_engine::Portfolio;

/// Pays `amount` out of the shard's vault to the owner. With open positions
/// the account must keep initial health >= 0; remaining accounts carry a
/// `(market, oracle)` pair for each market it holds.
pub fn handler<'info>(ctx: Context<'info, CollateralAccounts<'info>>, amount: u64) -> Result<()> {
    let Context { accounts, remaining_accounts, .. } = ctx;
    let accounts: &'info _ = accounts;
    require!(amount > 0, ClearshardError::ZeroAmount);
    accounts.require_open(PAUSE_WITHDRAWALS, ClearshardError::WithdrawalsPaused)?;
    let signed = i64::try_from(amount).map_err(|_| error!(ClearshardError::MathOverflow))?;
    let exchange = *accounts.exchange.load()?;
    let (shard_index, collateral_after) = {
        let mut margin = accounts.margin_account.load_mut()?;
        margin.portfolio.credit(-signed).map_err(ClearshardError::from)?;
        let now = Clock::get()?.unix_timestamp;
        let funding = check_withdrawable(&mut margin.portfolio, remaining_accounts, exchange.quote_decimals, now)?;
        require!(accounts.vault.amount >= amount, ClearshardError::VaultShortfall);
        let mut shard = accounts.shard.load_mut()?;
        shard.add_claims(-signed - funding)?;
        (shard.index, margin.portfolio.collateral)
    };
    vault::pay_out(
        &accounts.token_program,
        &accounts.vault,
        accounts.owner_token.to_account_info(),
        accounts.exchange.to_account_info(),
        exchange.bump,
        amount,
    )?;
    emit!(CollateralMoved {
        account: accounts.margin_account.key(),
        shard: shard_index,
        amount: -signed,
        collateral_after
    });
    Ok(())
}

/// The rule for collateral leaving an account (withdrawal or transfer out),
/// checked after the amount is taken: without positions the balance stays
/// non-negative; with positions, funding is settled and initial health stays
/// non-negative. Returns the funding paid (already taken from collateral).
pub fn check_withdrawable<'info>(
    portfolio: &mut Portfolio,
    market_pairs: &'info [AccountInfo<'info>],
    quote_decimals: u8,
    now_unix: i64,
) -> Result<i64> {
    if !portfolio.has_open_positions() {
        require!(portfolio.collateral >= 0, ClearshardError::InsufficientCollateral);
        return Ok(0);
    }
    let markets = risk::load_markets(market_pairs, quote_decimals, now_unix)?;
    let funding = portfolio.settle_funding(markets.as_slice()).map_err(ClearshardError::from)?;
    portfolio.check_initial_health(markets.as_slice()).map_err(|e| match e {
        clearshard_engine::EngineError::Undercollateralized => error!(ClearshardError::BreaksInitialMargin),
        other => ClearshardError::from(other).into(),
    })?;
    Ok(funding)
}
