use super::collateral_accounts::CollateralAccounts;
use crate::errors::ClearshardError;
use crate::events::CollateralMoved;
use crate::state::PAUSE_WITHDRAWALS;
use crate::{risk, vault};
use anchor_lang::prelude::*;

/// Pays `amount` out of the shard's vault to the owner. With open positions
/// the account must keep initial health >= 0 (`MarginAccount::take_collateral`);
/// remaining accounts carry a `(market, oracle)` pair for each market it holds.
pub fn handler<'info>(ctx: Context<'info, CollateralAccounts<'info>>, amount: u64) -> Result<()> {
    let Context { accounts, remaining_accounts, .. } = ctx;
    let accounts: &'info _ = accounts;
    require!(amount > 0, ClearshardError::ZeroAmount);
    accounts.require_open(PAUSE_WITHDRAWALS, ClearshardError::WithdrawalsPaused)?;
    let signed = i64::try_from(amount).map_err(|_| error!(ClearshardError::MathOverflow))?;
    let exchange = *accounts.exchange.load()?;
    let (shard_index, collateral_after) = {
        let mut margin = accounts.margin_account.load_mut()?;
        let markets = risk::markets_for(&margin, remaining_accounts, exchange.quote_decimals)?;
        let accruals = margin.take_collateral(signed, &markets)?;
        require!(accounts.vault.amount >= amount, ClearshardError::VaultShortfall);
        let mut shard = accounts.shard.load_mut()?;
        shard.add_claims(
            signed.checked_add(accruals).and_then(i64::checked_neg).ok_or(ClearshardError::MathOverflow)?,
        )?;
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
        amount: signed.wrapping_neg(),
        collateral_after
    });
    Ok(())
}
