use crate::errors::ClearshardError;
use crate::events::Liquidated;
use crate::state::{seeds, Exchange, MarginAccount, Shard};
use crate::{risk, vault};
use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use clearshard_engine::liquidation;

/// Takes over `lots` of an unhealthy account's position in `market_id` at the
/// oracle price. The liquidatee pays the market's liquidation fee: the
/// liquidator keeps part, the rest moves from the liquidatee's vault to the
/// insurance fund. The two accounts may sit on different shards (pass the same
/// shard twice otherwise). Remaining accounts: `(market, oracle)` pairs for
/// every market either account holds.
#[derive(Accounts)]
pub struct Liquidate<'info> {
    pub liquidator: Signer<'info>,
    #[account(seeds = [seeds::EXCHANGE], bump = exchange.load()?.bump)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub liqee: AccountLoader<'info, MarginAccount>,
    #[account(mut, constraint = liqor.load()?.owner == liquidator.key() @ ClearshardError::NotOwner)]
    pub liqor: AccountLoader<'info, MarginAccount>,
    #[account(mut)]
    pub liqee_shard: AccountLoader<'info, Shard>,
    #[account(mut)]
    pub liqor_shard: AccountLoader<'info, Shard>,
    #[account(mut, address = liqee_shard.load()?.vault @ ClearshardError::VaultOfAnotherShard)]
    pub liqee_vault: Account<'info, TokenAccount>,
    #[account(mut, address = exchange.load()?.insurance_vault @ ClearshardError::WrongInsuranceVault)]
    pub insurance_vault: Account<'info, TokenAccount>,
    pub token_program: Program<'info, Token>,
}

impl Liquidate<'_> {
    fn validate(&self) -> Result<()> {
        require_keys_neq!(self.liqee.key(), self.liqor.key(), ClearshardError::SelfLiquidation);
        let (liqee, liqor) = (self.liqee.load()?, self.liqor.load()?);
        require_keys_neq!(liqee.owner, liqor.owner, ClearshardError::SelfLiquidation);
        require!(liqee.shard == self.liqee_shard.load()?.index, ClearshardError::MarginAccountOfAnotherShard);
        require!(liqor.shard == self.liqor_shard.load()?.index, ClearshardError::MarginAccountOfAnotherShard);
        Ok(())
    }
}

fn long_lots(account: &MarginAccount, market_id: u16) -> i64 {
    account.portfolio.position(market_id).map_or(0, |p| p.base_lots.max(0))
}

pub fn handler<'info>(ctx: Context<'info, Liquidate<'info>>, market_id: u16, lots: u64) -> Result<()> {
    let Context { accounts, remaining_accounts, .. } = ctx;
    let accounts: &'info _ = accounts;
    accounts.validate()?;
    let exchange = *accounts.exchange.load()?;
    let markets = risk::load_markets(remaining_accounts, exchange.quote_decimals, Clock::get()?.unix_timestamp)?;

    let mut liqee = accounts.liqee.load_mut()?;
    let mut liqor = accounts.liqor.load_mut()?;
    let (liqee_before, liqor_before) = (liqee.portfolio.collateral, liqor.portfolio.collateral);
    let (liqee_long, liqor_long) = (long_lots(&liqee, market_id), long_lots(&liqor, market_id));
    let outcome = liquidation::liquidate(&mut liqee.portfolio, &mut liqor.portfolio, &markets, market_id, lots)
        .map_err(ClearshardError::from)?;

    // Claims and open interest follow each account's shard.
    let books = [
        (liqee.shard, liqee.portfolio.collateral - liqee_before, long_lots(&liqee, market_id) - liqee_long),
        (liqor.shard, liqor.portfolio.collateral - liqor_before, long_lots(&liqor, market_id) - liqor_long),
    ];
    if liqee.shard == liqor.shard {
        let mut shard = accounts.liqee_shard.load_mut()?;
        shard.add_claims(books[0].1 + books[1].1)?;
        shard.add_open_interest(market_id, books[0].2 + books[1].2)?;
    } else {
        for (loader, (_, claims, oi)) in [&accounts.liqee_shard, &accounts.liqor_shard].into_iter().zip(books) {
            let mut shard = loader.load_mut()?;
            shard.add_claims(claims)?;
            shard.add_open_interest(market_id, oi)?;
        }
    }
    let event = Liquidated {
        liqee: accounts.liqee.key(),
        liqor: accounts.liqor.key(),
        market: market_id,
        lots: outcome.lots,
        price: outcome.price,
        fee: outcome.fee,
        insurance: outcome.insurance,
        maintenance_after: outcome.maintenance_after.clamp(i64::MIN as i128, i64::MAX as i128) as i64,
    };
    drop((liqee, liqor));
    if outcome.insurance > 0 {
        vault::pay_out(
            &accounts.token_program,
            &accounts.liqee_vault,
            accounts.insurance_vault.to_account_info(),
            accounts.exchange.to_account_info(),
            exchange.bump,
            outcome.insurance as u64,
        )?;
    }
    emit!(event);
    Ok(())
}
