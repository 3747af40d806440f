//! The accounts `close_at_settlement` and `claim_settlement_gain` share — a
//! wound-down market, a margin account and its shard — and their one pause
//! rule: both pay into collateral, as settlement does.

use crate::errors::ClearshardError;
use crate::state::{seeds, Exchange, MarginAccount, Market, Shard, PAUSE_SETTLEMENT};
use anchor_lang::prelude::*;
use std::cell::RefMut;

#[derive(Accounts)]
pub struct WoundDownPosition<'info> {
    #[account(address = seeds::EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    #[account(mut)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    #[account(mut, constraint = shard.load()?.index == margin_account.load()?.shard
        @ ClearshardError::MarginAccountOfAnotherShard)]
    pub shard: AccountLoader<'info, Shard>,
}

impl WoundDownPosition<'_> {
    /// The account's shard, for writing, unless settlement is paused there.
    pub fn open_shard(&self) -> Result<RefMut<'_, Shard>> {
        let shard = self.shard.load_mut()?;
        let now = Clock::get()?.unix_timestamp;
        self.exchange.load()?.require_open(&shard, PAUSE_SETTLEMENT, ClearshardError::SettlementPaused, now)?;
        Ok(shard)
    }
}
