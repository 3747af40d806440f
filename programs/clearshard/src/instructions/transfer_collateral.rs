use crate::errors::ClearshardError;
use crate::events::CollateralMoved;
use crate::state::{seeds, Exchange, MarginAccount, Shard};
use crate::{risk, vault};
use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

/// Moves collateral between two margin accounts of one owner, also across
/// shards (how a market maker funds its liquidity shards). Across shards the
/// tokens move vault to vault, so both shards stay covered. The source keeps
/// the withdrawal rule; remaining accounts carry its `(market, oracle)` pairs.
/// Within one shard, pass that shard and its vault for both sides. It is a
/// withdrawal from the source shard and a deposit into the destination, and
/// the pause flags of both apply.
#[derive(Accounts)]
pub struct TransferCollateral<'info> {
    pub owner: Signer<'info>,
    #[account(address = seeds::EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, has_one = owner @ ClearshardError::NotOwner)]
    pub from_account: AccountLoader<'info, MarginAccount>,
    #[account(mut, has_one = owner @ ClearshardError::NotOwner)]
    pub to_account: AccountLoader<'info, MarginAccount>,
    #[account(mut)]
    pub from_shard: AccountLoader<'info, Shard>,
    #[account(mut)]
    pub to_shard: AccountLoader<'info, Shard>,
    #[account(mut, address = from_shard.load()?.vault @ ClearshardError::VaultOfAnotherShard)]
    pub from_vault: Account<'info, TokenAccount>,
    #[account(mut, dup, address = to_shard.load()?.vault @ ClearshardError::VaultOfAnotherShard)]
    pub to_vault: Account<'info, TokenAccount>,
    pub token_program: Program<'info, Token>,
}

impl TransferCollateral<'_> {
    fn validate(&self, amount: u64) -> Result<()> {
        require!(amount > 0, ClearshardError::ZeroAmount);
        require_keys_neq!(self.from_account.key(), self.to_account.key(), ClearshardError::SameAccount);
        let (from_shard, to_shard) = (self.from_shard.load()?, self.to_shard.load()?);
        from_shard.require_holds(&*self.from_account.load()?)?;
        to_shard.require_holds(&*self.to_account.load()?)?;
        let exchange = self.exchange.load()?;
        let now = Clock::get()?.unix_timestamp;
        exchange.require_value_may_move(&from_shard, &to_shard, now)
    }
}

pub fn handler<'info>(ctx: Context<'info, TransferCollateral<'info>>, amount: u64) -> Result<()> {
    let Context { accounts, remaining_accounts, .. } = ctx;
    let accounts: &'info _ = accounts;
    accounts.validate(amount)?;
    let signed = i64::try_from(amount).map_err(|_| error!(ClearshardError::MathOverflow))?;
    let exchange = *accounts.exchange.load()?;
    let moved = {
        let mut from = accounts.from_account.load_mut()?;
        let mut to = accounts.to_account.load_mut()?;
        let markets = risk::markets_for(&from, remaining_accounts, exchange.quote_decimals)?;
        let funding = from.take_collateral(signed, &markets)?;
        to.portfolio.credit(signed).map_err(ClearshardError::from)?;
        (from.shard, to.shard, from.portfolio.collateral, to.portfolio.collateral, funding)
    };
    let (from_shard, to_shard, from_after, to_after, funding) = moved;
    if funding != 0 {
        accounts.from_shard.load_mut()?.add_claims(funding.wrapping_neg())?;
    }
    if from_shard != to_shard {
        require!(accounts.from_vault.amount >= amount, ClearshardError::VaultShortfall);
        accounts.from_shard.load_mut()?.add_claims(signed.wrapping_neg())?;
        accounts.to_shard.load_mut()?.add_claims(signed)?;
        vault::pay_out(
            &accounts.token_program,
            &accounts.from_vault,
            accounts.to_vault.to_account_info(),
            accounts.exchange.to_account_info(),
            exchange.bump,
            amount,
        )?;
    }
    emit!(CollateralMoved {
        account: accounts.from_account.key(),
        shard: from_shard,
        amount: signed.wrapping_neg(),
        collateral_after: from_after
    });
    emit!(CollateralMoved {
        account: accounts.to_account.key(),
        shard: to_shard,
        amount: signed,
        collateral_after: to_after
    });
    Ok(())
}
