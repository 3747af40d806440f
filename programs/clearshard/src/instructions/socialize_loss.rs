use super::bankrupt_account::*;
use crate::errors::ClearshardError;
use crate::events::LossSocialized;
use crate::state::{Market, Shard};
use anchor_lang::prelude::*;
use clearshard_engine::liquidation::{bankruptcy_deficit, socialized_loss_per_lot};

/// Permissionless: covers a bankrupt account from the insurance fund as far
/// as it reaches (like `resolve_bankruptcy`, so a donation to the fund never
/// blocks this), then spreads what remains over every open lot of the market
/// whose liquidation left the account bankrupt (longs and shorts alike, pro
/// rata), through the market's loss index that positions settle lazily like
/// funding. The account is made whole now; its shard's vault is refilled as
/// positions settle and vaults rebalance. Remaining accounts: every shard,
/// read-only, in index order (the total open interest needs them all, so this
/// works up to ~50 shards per transaction).
#[derive(Accounts)]
pub struct SocializeLoss<'info> {
    pub bankrupt: BankruptAccount<'info>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
}

pub fn handler<'info>(ctx: Context<'info, SocializeLoss<'info>>) -> Result<()> {
    let Context { accounts, remaining_accounts, .. } = ctx;
    let accounts: &'info _ = accounts;
    let bankrupt = &accounts.bankrupt;
    bankrupt.validate()?;
    let market_id = accounts.market.load()?.id;
    let portfolio = bankrupt.account.load()?.portfolio;
    bankruptcy_deficit(&portfolio).map_err(ClearshardError::from)?;
    let deficit_market = portfolio.deficit_market();
    require!(deficit_market == Some(market_id), ClearshardError::LossOfAnotherMarket);
    let cover = bankrupt.cover_from_insurance()?;
    let remaining = cover.deficit.saturating_sub(cover.covered);
    if remaining == 0 {
        return Ok(());
    }
    let shard_count = bankrupt.exchange.load()?.shard_count;
    require!(remaining_accounts.len() == usize::from(shard_count), ClearshardError::ShardsIncomplete);
    let mut open_lots: u64 = 0;
    for (index, info) in remaining_accounts.iter().enumerate() {
        let loader = AccountLoader::<Shard>::try_from(info)?;
        let shard = loader.load()?;
        require!(usize::from(shard.index) == index, ClearshardError::ShardsIncomplete);
        let open_interest = shard.open_interest(market_id);
        open_lots = open_lots
            .checked_add(open_interest.long)
            .and_then(|n| n.checked_add(open_interest.short))
            .ok_or(ClearshardError::MathOverflow)?;
    }
    let (per_lot, dust) = socialized_loss_per_lot(remaining, open_lots).map_err(ClearshardError::from)?;
    accounts.market.load_mut()?.socialize(per_lot)?;
    let covered = i64::try_from(remaining).map_err(|_| error!(ClearshardError::MathOverflow))?;
    let mut account = bankrupt.account.load_mut()?;
    account.portfolio.credit(covered).map_err(ClearshardError::from)?;
    account.portfolio.deficit_set = 0;
    let mut shard = bankrupt.shard.load_mut()?;
    shard.add_claims(covered)?;
    shard.add_fees(market_id, i64::try_from(dust).map_err(|_| error!(ClearshardError::MathOverflow))?)?;
    emit!(LossSocialized {
        account: bankrupt.account.key(),
        market: market_id,
        deficit: remaining,
        per_lot,
        open_lots
    });
    Ok(())
}
