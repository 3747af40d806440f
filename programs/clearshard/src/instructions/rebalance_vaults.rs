use crate::errors::ClearshardError;
use crate::events::VaultsRebalanced;
use crate::risk;
use crate::state::{seeds, Exchange, Shard, PAUSE_WITHDRAWALS};
use crate::vault;
use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use clearshard_engine::RiskMarket;

/// Permissionless: first each shard pays the insurance vault what it owes
/// the fund, out of tokens beyond its accounts' share, or the insurance vault
/// repays what the fund owes the shard (`Shard::insurance_debt`), as far as
/// it holds tokens; then tokens move from a
/// vault holding more than its shard's reserve to one holding less, as much
/// as both allow. No token leaves the vault of a shard whose withdrawals are
/// paused: such a shard is refused as the source, and as the destination it
/// receives but pays the fund nothing. The reserve (`Shard::reserve`) is the equity of the shard's
/// accounts at the oracle, plus fees: what its accounts could take out. No
/// vault is ever taken below it. Remaining accounts: `(market, oracle)` pairs
/// for every market in which either shard holds a position, up to all 16
/// (a lookup table fits them in one transaction).
#[derive(Accounts)]
pub struct RebalanceVaults<'info> {
    #[account(address = seeds::EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub from_shard: AccountLoader<'info, Shard>,
    #[account(mut)]
    pub to_shard: AccountLoader<'info, Shard>,
    #[account(mut, address = from_shard.load()?.vault @ ClearshardError::VaultOfAnotherShard)]
    pub from_vault: Account<'info, TokenAccount>,
    #[account(mut, address = to_shard.load()?.vault @ ClearshardError::VaultOfAnotherShard)]
    pub to_vault: Account<'info, TokenAccount>,
    #[account(mut, address = exchange.load()?.insurance_vault @ ClearshardError::WrongInsuranceVault)]
    pub insurance_vault: Account<'info, TokenAccount>,
    pub token_program: Program<'info, Token>,
}

impl<'info> RebalanceVaults<'info> {
    fn validate(&self, now: i64) -> Result<()> {
        require_keys_neq!(self.from_shard.key(), self.to_shard.key(), ClearshardError::SameAccount);
        let shard = self.from_shard.load()?;
        self.exchange.load()?.require_open(&shard, PAUSE_WITHDRAWALS, ClearshardError::WithdrawalsPaused, now)
    }

    /// Pays what `shard` owes the insurance fund, from what its vault holds
    /// beyond the rest of its reserve (its accounts come first); nothing
    /// while the shard's withdrawals are paused. Or, if the fund owes the
    /// shard, the insurance vault repays it, up to `available` (value coming
    /// in, so a pause does not stop it). Returns what the shard paid and
    /// what it was repaid.
    fn settle_insurance(
        &self,
        shard: &AccountLoader<'info, Shard>,
        vault: &Account<'info, TokenAccount>,
        markets: &[RiskMarket],
        available: u64,
        now: i64,
    ) -> Result<(u64, u64)> {
        let mut shard = shard.load_mut()?;
        let repaid = shard.repay_insurance_debt(available);
        if repaid > 0 {
            drop(shard);
            self.pay(&self.insurance_vault, vault.to_account_info(), repaid)?;
            return Ok((0, repaid));
        }
        let paused =
            self.exchange.load()?.require_open(&shard, PAUSE_WITHDRAWALS, ClearshardError::WithdrawalsPaused, now);
        if paused.is_err() {
            return Ok((0, 0));
        }
        let others = shard.reserve(markets)?.saturating_sub(shard.insurance_owed);
        let amount = shard.take_insurance(vault.amount.saturating_sub(others));
        drop(shard);
        if amount > 0 {
            self.pay(vault, self.insurance_vault.to_account_info(), amount)?;
        }
        Ok((amount, 0))
    }

    fn pay(&self, from: &Account<'info, TokenAccount>, to: AccountInfo<'info>, amount: u64) -> Result<()> {
        let bump = self.exchange.load()?.bump;
        vault::pay_out(&self.token_program, from, to, self.exchange.to_account_info(), bump, amount)
    }
}

pub fn handler<'info>(ctx: Context<'info, RebalanceVaults<'info>>) -> Result<()> {
    let Context { accounts, remaining_accounts, .. } = ctx;
    let accounts: &'info _ = accounts;
    let now = Clock::get()?.unix_timestamp;
    accounts.validate(now)?;
    let exchange = *accounts.exchange.load()?;
    let markets = risk::load_every_market(remaining_accounts, exchange.quote_decimals, now)?;
    let available = accounts.insurance_vault.amount;
    let (from_paid, from_repaid) =
        accounts.settle_insurance(&accounts.from_shard, &accounts.from_vault, &markets, available, now)?;
    let available = available.saturating_sub(from_repaid);
    let (to_paid, to_repaid) =
        accounts.settle_insurance(&accounts.to_shard, &accounts.to_vault, &markets, available, now)?;
    let insurance_paid = from_paid.saturating_add(to_paid);
    let insurance_debt_repaid = from_repaid.saturating_add(to_repaid);
    // Vault balances as they stand after those payments.
    let from_tokens = accounts.from_vault.amount.saturating_sub(from_paid).saturating_add(from_repaid);
    let to_tokens = accounts.to_vault.amount.saturating_sub(to_paid).saturating_add(to_repaid);

    let from_reserve = accounts.from_shard.load()?.reserve(&markets)?;
    let to_reserve = accounts.to_shard.load()?.reserve(&markets)?;
    let surplus = from_tokens.saturating_sub(from_reserve);
    let shortfall = to_reserve.saturating_sub(to_tokens);
    let amount = surplus.min(shortfall);
    require!(amount > 0 || insurance_paid > 0 || insurance_debt_repaid > 0, ClearshardError::NothingToRebalance);
    if amount > 0 {
        accounts.pay(&accounts.from_vault, accounts.to_vault.to_account_info(), amount)?;
    }
    emit!(VaultsRebalanced {
        from_shard: accounts.from_shard.load()?.index,
        to_shard: accounts.to_shard.load()?.index,
        amount,
        insurance_paid,
        insurance_debt_repaid,
    });
    Ok(())
}
