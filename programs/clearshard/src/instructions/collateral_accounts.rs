//! The accounts deposit and withdraw share: an owner's margin account, its
//! shard and that shard's vault, and the owner's token account.

use crate::errors::ClearshardError;
use crate::state::{seeds, Exchange, MarginAccount, Shard};
use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

#[derive(Accounts)]
pub struct CollateralAccounts<'info> {
    pub owner: Signer<'info>,
    #[account(address = seeds::EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub shard: AccountLoader<'info, Shard>,
    #[account(mut, address = shard.load()?.vault @ ClearshardError::VaultOfAnotherShard)]
    pub vault: Account<'info, TokenAccount>,
    #[account(mut, has_one = owner @ ClearshardError::NotOwner)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    /// The owner's token account: source of a deposit, destination of a
    /// withdrawal. It must be the owner's own: a withdrawal into any other
    /// account (a vault of the exchange, say) is refused.
    #[account(
        mut,
        constraint = owner_token.mint == exchange.load()?.collateral_mint @ ClearshardError::WrongMint,
        constraint = owner_token.owner == owner.key() @ ClearshardError::TokenAccountOfAnotherOwner,
    )]
    pub owner_token: Account<'info, TokenAccount>,
    pub token_program: Program<'info, Token>,
}

impl CollateralAccounts<'_> {
    /// Fails if the account is not on this shard, or `flag` is paused on the
    /// exchange or this shard.
    pub fn require_open(&self, flag: u8, paused: ClearshardError) -> Result<()> {
        let shard = self.shard.load()?;
        shard.require_holds(&*self.margin_account.load()?)?;
        self.exchange.load()?.require_open(&shard, flag, paused, Clock::get()?.unix_timestamp)
    }
}
