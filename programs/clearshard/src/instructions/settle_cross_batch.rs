use crate::errors::ClearshardError;
use crate::settlement::{self, Authority, Batch};
use crate::state::{seeds, Exchange, Shard};
use anchor_lang::prelude::*;

/// Settles fills whose sides sit on two shards; locks both. The sequence is
/// the matcher's next one on `shard_a`, which must have the lower index.
/// Collateral moving across shards leaves one vault short; `rebalance_vaults`
/// restores the balance.
#[derive(Accounts)]
pub struct SettleCrossBatch<'info> {
    pub matcher_authority: Signer<'info>,
    /// CHECK: loaded and checked as the signer's `Matcher` in the handler.
    pub matcher: UncheckedAccount<'info>,
    #[account(address = seeds::EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub shard_a: AccountLoader<'info, Shard>,
    #[account(mut)]
    pub shard_b: AccountLoader<'info, Shard>,
}

pub fn handler<'info>(
    ctx: Context<'info, SettleCrossBatch<'info>>,
    sequence: u64,
    market_count: u8,
    fills: Vec<u8>,
) -> Result<()> {
    let Context { accounts, remaining_accounts, program_id, .. } = ctx;
    let accounts: &'info _ = accounts;
    require_keys_neq!(accounts.shard_a.key(), accounts.shard_b.key(), ClearshardError::CrossBatchShardOrder);
    let matcher = settlement::active_matcher(accounts.matcher.as_ref(), accounts.matcher_authority.key)?;
    let exchange = *accounts.exchange.load()?;
    let mut shard_a = accounts.shard_a.load_mut()?;
    let mut shard_b = accounts.shard_b.load_mut()?;
    require!(shard_a.index < shard_b.index, ClearshardError::CrossBatchShardOrder);
    let batch = Batch { market_count, fills: &fills, remaining: remaining_accounts };
    let shards = &mut [&mut *shard_a, &mut *shard_b];
    let settled =
        settlement::settle(program_id, &exchange, Authority::Matcher { matcher: &matcher, sequence }, shards, batch)?;
    emit!(settled.batch_event(&matcher, sequence, shards));
    Ok(())
}
