use crate::errors::ClearshardError;
use crate::events::WindDownFinal;
use crate::state::{seeds, Exchange, Market, Shard};
use anchor_lang::prelude::*;

/// Permissionless: makes a wound-down market final once every position in
/// it is closed and no account anywhere has a loss recorded there (so every
/// gain it will hold is held, and every deficit share it will carry is
/// registered). Fixes the rates: the deficits are covered from the gains,
/// pro rata, in full if the gains suffice; the gains share what is left. Reads every shard, read-only, in index order, in this one
/// transaction (41 fit with a lookup table), so no caller picks a moment
/// between pages. Remaining accounts: every shard in index order.
#[derive(Accounts)]
pub struct FinalizeWindDown<'info> {
    #[account(address = seeds::EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
}

pub fn handler<'info>(ctx: Context<'info, FinalizeWindDown<'info>>) -> Result<()> {
    let Context { accounts, remaining_accounts, .. } = ctx;
    let shard_count = accounts.exchange.load()?.shard_count;
    let mut market = accounts.market.load_mut()?;
    require!(market.is_wound_down(), ClearshardError::MarketNotWoundDown);
    require!(!market.is_final(), ClearshardError::WindDownFinal);
    require!(remaining_accounts.len() == usize::from(shard_count), ClearshardError::ShardsIncomplete);
    for (index, info) in remaining_accounts.iter().enumerate() {
        let shard = AccountLoader::<Shard>::try_from(info)?;
        let shard = shard.load()?;
        require!(usize::from(shard.index) == index, ClearshardError::ShardOutOfOrder);
        let oi = shard.open_interest(market.id);
        require!(oi.long == 0 && oi.short == 0, ClearshardError::WindDownPositionsOpen);
        require!(shard.loss_records(market.id)? == 0, ClearshardError::WindDownLossesPending);
    }
    market.make_final();
    emit!(WindDownFinal {
        market: market.id,
        payout_pool: market.payout_pool,
        payout_faces: market.payout_faces,
        recovery_pool: market.recovery_pool,
        recovery_faces: market.recovery_faces,
    });
    Ok(())
}
