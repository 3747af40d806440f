use super::bankrupt_account::*;
use crate::errors::ClearshardError;
use crate::events::LossSocialized;
use crate::state::{Market, Shard};
use anchor_lang::prelude::*;
use clearshard_engine::liquidation::{bankruptcy_deficit, socialized_loss_per_lot};

/// Permissionless: covers a bankrupt account from the whole insurance fund
/// first — its share held in the account's shard, the insurance vault, then
/// its share held in every other shard (those tokens stay in their vaults and
/// rebalancing brings them over, like any claim that moved) — so a donation
/// never blocks this and no loss is socialized while the fund holds anything.
/// What remains is spread over every open lot of the market whose
/// liquidation left the account bankrupt (longs and shorts alike, pro rata),
/// through the market's loss index that positions settle lazily like funding.
/// The account is made whole now. Remaining accounts: every shard, writable,
/// in index order (`MAX_SHARDS` is sized so that they always fit).
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
    let mut remaining = cover.deficit.saturating_sub(cover.covered);
    if remaining == 0 {
        return Ok(());
    }
    let shard_count = bankrupt.exchange.load()?.shard_count;
    require!(remaining_accounts.len() == usize::from(shard_count), ClearshardError::ShardsIncomplete);
    let own_shard = bankrupt.shard.key();
    let mut open_lots: u64 = 0;
    let mut from_other_shards: u64 = 0;
    for (index, info) in remaining_accounts.iter().enumerate() {
        let loader = AccountLoader::<Shard>::try_from(info)?;
        let (shard_index, open_interest) = if info.key() == own_shard {
            let shard = loader.load()?;
            (shard.index, shard.open_interest(market_id))
        } else {
            // The fund's share of fees held here covers the loss first.
            let mut shard = loader.load_mut()?;
            let taken = shard.take_insurance(remaining);
            remaining = remaining.saturating_sub(taken);
            from_other_shards = from_other_shards.saturating_add(taken);
            (shard.index, shard.open_interest(market_id))
        };
        require!(usize::from(shard_index) == index, ClearshardError::ShardsIncomplete);
        open_lots = open_lots
            .checked_add(open_interest.long)
            .and_then(|n| n.checked_add(open_interest.short))
            .ok_or(ClearshardError::MathOverflow)?;
    }
    let (per_lot, dust) = if remaining == 0 {
        (0, 0)
    } else {
        socialized_loss_per_lot(remaining, open_lots).map_err(ClearshardError::from)?
    };
    accounts.market.load_mut()?.socialize(per_lot)?;
    let to_i64 = |n: u64| i64::try_from(n).map_err(|_| error!(ClearshardError::MathOverflow));
    let covered = to_i64(remaining.saturating_add(from_other_shards))?;
    let mut account = bankrupt.account.load_mut()?;
    account.portfolio.credit(covered).map_err(ClearshardError::from)?;
    account.portfolio.deficit_set = 0;
    let mut shard = bankrupt.shard.load_mut()?;
    shard.add_claims(covered)?;
    shard.add_fees(market_id, to_i64(dust)?)?;
    emit!(LossSocialized {
        account: bankrupt.account.key(),
        market: market_id,
        insurance_from_other_shards: from_other_shards,
        deficit: remaining,
        per_lot,
        open_lots
    });
    Ok(())
}
