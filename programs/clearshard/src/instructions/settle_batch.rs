use crate::cu_trace::checkpoint;
use crate::settlement::{self, Authority, Batch};
use crate::state::{seeds, Exchange, Shard};
use anchor_lang::prelude::*;

/// Settles a batch of fills on one shard. Remaining accounts: `market_count`
/// `(market, oracle)` pairs, then the margin accounts the fills index.
#[derive(Accounts)]
pub struct SettleBatch<'info> {
    pub matcher_authority: Signer<'info>,
    /// CHECK: loaded and checked as the signer's `Matcher` in the handler, so
    /// an unregistered matcher gets its own error.
    pub matcher: UncheckedAccount<'info>,
    #[account(address = seeds::EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub shard: AccountLoader<'info, Shard>,
}

pub fn handler<'info>(
    ctx: Context<'info, SettleBatch<'info>>,
    sequence: u64,
    market_count: u8,
    fills: Vec<u8>,
) -> Result<()> {
    // Two checkpoints in a row: the bench measures a checkpoint's own cost.
    checkpoint();
    checkpoint();
    let Context { accounts, remaining_accounts, program_id, .. } = ctx;
    let accounts: &'info _ = accounts;
    let matcher = settlement::active_matcher(accounts.matcher.as_ref(), accounts.matcher_authority.key)?;
    let exchange = *accounts.exchange.load()?;
    let mut shard = accounts.shard.load_mut()?;
    checkpoint();
    let batch = Batch { market_count, fills: &fills, remaining: remaining_accounts };
    let shards = &mut [&mut *shard];
    let settled =
        settlement::settle(program_id, &exchange, Authority::Matcher { matcher: &matcher, sequence }, shards, batch)?;
    emit!(settled.batch_event(&matcher, sequence, shards));
    Ok(())
}
