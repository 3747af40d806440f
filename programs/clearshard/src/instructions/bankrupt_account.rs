//! The accounts resolve_bankruptcy and socialize_loss share: a margin account
//! that may be bankrupt, its shard, and the exchange.

use crate::errors::ClearshardError;
use crate::state::{seeds, Exchange, MarginAccount, Shard};
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct BankruptAccount<'info> {
    #[account(seeds = [seeds::EXCHANGE], bump = exchange.load()?.bump)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(
        mut,
        constraint = account.load()?.shard == shard.load()?.index @ ClearshardError::MarginAccountOfAnotherShard,
    )]
    pub account: AccountLoader<'info, MarginAccount>,
    #[account(mut)]
    pub shard: AccountLoader<'info, Shard>,
}
