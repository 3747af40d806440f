use crate::errors::ClearshardError;
use crate::events::AccrualsSettled;
use crate::state::{MarginAccount, Market, Shard};
use anchor_lang::prelude::*;
use clearshard_engine::{RiskMarket, MAX_BATCH_MARKETS};

/// Permissionless: books the funding and socialized loss an account's
/// positions owe or are owed into its collateral (and its shard's claims).
/// Indexes make the amount the same whoever calls, whenever: this moves no
/// money between owners; it makes a shard's books, and so its reserve, say
/// what its accounts really hold, so that a rebalance can bring in what a
/// payer elsewhere owes. Remaining accounts: the `Market` of every position.
#[derive(Accounts)]
pub struct SettleAccount<'info> {
    #[account(mut)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    #[account(mut, constraint = shard.load()?.index == margin_account.load()?.shard
        @ ClearshardError::MarginAccountOfAnotherShard)]
    pub shard: AccountLoader<'info, Shard>,
}

pub fn handler<'info>(ctx: Context<'info, SettleAccount<'info>>) -> Result<()> {
    let Context { accounts, remaining_accounts, .. } = ctx;
    require!(remaining_accounts.len() <= MAX_BATCH_MARKETS, ClearshardError::MalformedBatch);
    let now = Clock::get()?.unix_timestamp;
    let mut markets: Vec<RiskMarket> = Vec::with_capacity(remaining_accounts.len());
    for info in remaining_accounts {
        let market = *AccountLoader::<Market>::try_from(info)?.load()?;
        require!(markets.iter().all(|m| m.id != market.id), ClearshardError::DuplicateMarket);
        // Accruals read indexes only: no oracle price is needed (nor used).
        markets.push(market.risk(0, 0, now)?);
    }
    let mut margin = accounts.margin_account.load_mut()?;
    let paid = margin.portfolio.settle_funding(&markets[..]).map_err(ClearshardError::from)?;
    require!(paid != 0, ClearshardError::NothingToSettle);
    accounts.shard.load_mut()?.add_claims(paid.checked_neg().ok_or(ClearshardError::MathOverflow)?)?;
    emit!(AccrualsSettled {
        account: accounts.margin_account.key(),
        shard: margin.shard,
        paid,
        collateral_after: margin.portfolio.collateral,
    });
    Ok(())
}
