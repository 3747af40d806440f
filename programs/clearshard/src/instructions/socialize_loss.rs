use super::bankrupt_account::*;
use crate::errors::ClearshardError;
use crate::events::LossSocialized;
use crate::state::{Market, Shard};
use anchor_lang::prelude::*;
use anchor_spl::token::TokenAccount;
use clearshard_engine::liquidation::{bankruptcy_deficit, socialized_loss_per_lot};

/// Permissionless, once the insurance fund is empty: spreads a bankrupt
/// account's remaining deficit over every open lot of `market` (longs and
/// shorts alike, pro rata), through the market's loss index that positions
/// settle lazily like funding. The account is made whole now; its shard's
/// vault is refilled as positions settle and vaults rebalance. Remaining
/// accounts: every shard, read-only, in index order (the total open interest
/// needs them all, so this works up to ~50 shards per transaction).
#[derive(Accounts)]
pub struct SocializeLoss<'info> {
    pub bankrupt: BankruptAccount<'info>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    #[account(address = bankrupt.exchange.load()?.insurance_vault @ ClearshardError::WrongInsuranceVault)]
    pub insurance_vault: Account<'info, TokenAccount>,
}

pub fn handler<'info>(ctx: Context<'info, SocializeLoss<'info>>) -> Result<()> {
    let Context { accounts, remaining_accounts, .. } = ctx;
    let accounts: &'info _ = accounts;
    require!(accounts.insurance_vault.amount == 0, ClearshardError::InsuranceNotExhausted);
    let bankrupt = &accounts.bankrupt;
    let deficit = bankruptcy_deficit(&bankrupt.account.load()?.portfolio).map_err(ClearshardError::from)?;
    let exchange = bankrupt.exchange.load()?;
    let mut market = accounts.market.load_mut()?;
    let mut shard = bankrupt.shard.load_mut()?;
    require!(remaining_accounts.len() == exchange.shard_count as usize, ClearshardError::ShardsIncomplete);

    let mut long_lots: u64 = 0;
    for (index, info) in remaining_accounts.iter().enumerate() {
        let open_interest = if info.key() == bankrupt.shard.key() {
            require!(shard.index as usize == index, ClearshardError::ShardsIncomplete);
            shard.markets.get(market.id as usize).map_or(0, |m| m.open_interest)
        } else {
            let other = AccountLoader::<Shard>::try_from(info)?;
            let other = other.load()?;
            require!(other.index as usize == index, ClearshardError::ShardsIncomplete);
            other.markets.get(market.id as usize).map_or(0, |m| m.open_interest)
        };
        long_lots = long_lots.checked_add(open_interest).ok_or(ClearshardError::MathOverflow)?;
    }
    let open_lots = long_lots.checked_mul(2).ok_or(ClearshardError::MathOverflow)?;
    let (per_lot, dust) = socialized_loss_per_lot(deficit, open_lots).map_err(ClearshardError::from)?;

    market.cumulative_loss = market.cumulative_loss.checked_add(per_lot).ok_or(ClearshardError::MathOverflow)?;
    let covered = deficit as i64; // deficit <= i64::MAX by construction
    bankrupt.account.load_mut()?.portfolio.credit(covered).map_err(ClearshardError::from)?;
    shard.add_claims(covered)?;
    let fees = shard.markets.get_mut(market.id as usize).ok_or(ClearshardError::UnknownMarket)?;
    fees.fees = fees.fees.checked_add(dust as i64).ok_or(ClearshardError::MathOverflow)?;
    emit!(LossSocialized { account: bankrupt.account.key(), market: market.id, deficit, per_lot, open_lots });
    Ok(())
}
