//! A shard: the unit of write locking, and the rules on what it owes.

use super::{MarginAccount, MAX_MARKETS, MAX_MATCHERS};
use crate::errors::ClearshardError;
use anchor_lang::prelude::*;
use clearshard_engine::batch::{MarketFlow, OpenInterest};
use clearshard_engine::funding::{epoch_of, ShardFunding};
use clearshard_engine::{PositionChange, RiskMarket, SequenceStatus, SequenceWindow};

/// What one shard holds of one market.
///
/// Layout (120 bytes): long and short open interest, fees, fills, last price,
/// funding sums of the current and the previous epoch, liveness stamps.
#[zero_copy]
#[derive(Debug, Default)]
pub struct ShardMarket {
    /// Long open interest of this shard's accounts, in lots.
    pub open_interest: u64,
    /// Short open interest of this shard's accounts, in lots.
    pub short_open_interest: u64,
    /// Net fees accrued on fills whose taker is here (taker fees less the
    /// makers' rebates, wherever the makers are): never negative; backed by the vault.
    pub fees: i64,
    pub fills: u64,
    /// Price per lot of the last fill settled here.
    pub last_price: u64,
    /// The fills' volume and premium over the oracle, by funding epoch: what
    /// a funding round reads.
    pub funding: ShardFunding,
    /// When a matcher's batch last settled a fill of this market here: what
    /// a wind-down proves silence from (owner trades do not keep a market live).
    pub last_batch_at: i64,
    /// The oracle price per lot (held inside the breaker's band) the last
    /// trade here was checked against, and when: a wound-down market's
    /// fallback price if its feed has died.
    pub last_oracle_price: u64,
    pub last_oracle_at: i64,
    /// This shard's accounts with a loss recorded in this market
    /// (`Portfolio::liquidation_losses`): deficits that may still arise
    /// here. A wound-down market is final only once every shard counts none.
    pub loss_records: u64,
}
const _: () = assert!(core::mem::size_of::<ShardMarket>() == 128);

/// One shard: the unit of write locking. Settlement, deposits and withdrawals
/// of its margin accounts write it; batches on other shards never do.
///
/// Layout (2376 bytes): header 8, vault 32, claims 8, account count 8,
/// insurance owed 8, insurance debt 8, matcher sequence windows 16×16,
/// per-market stats 16×128.
#[account(zero_copy)]
#[derive(Debug)]
pub struct Shard {
    pub index: u16,
    pub pause_flags: u8,
    pub bump: u8,
    pub vault_bump: u8,
    pub _padding: [u8; 3],
    pub vault: Pubkey,
    /// Sum of the collateral of this shard's margin accounts.
    pub collateral_claims: i64,
    pub margin_accounts: u64,
    /// The insurance fund's share of liquidation fees paid on this shard:
    /// tokens in this shard's vault that belong to the insurance fund.
    pub insurance_owed: u64,
    /// What the insurance fund owes this shard's vault: the part of a
    /// deficit here that no market could carry (`socialize_loss`). The
    /// fund's next income here, the shard's fees before any sweep, and the
    /// insurance vault (through `rebalance_vaults`) repay it first. Never
    /// nonzero beside `insurance_owed`.
    pub insurance_debt: u64,
    /// Each matcher's anti-replay window of batch sequences (by matcher index).
    pub sequences: [SequenceWindow; MAX_MATCHERS as usize],
    pub markets: [ShardMarket; MAX_MARKETS as usize],
}
const _: () = assert!(core::mem::size_of::<Shard>() == 2376);

impl Shard {
    pub const SPACE: usize = 8 + core::mem::size_of::<Shard>();

    /// Refuses a margin account that lives on another shard.
    pub fn require_holds(&self, account: &MarginAccount) -> Result<()> {
        require!(account.shard == self.index, ClearshardError::MarginAccountOfAnotherShard);
        Ok(())
    }

    fn market(&self, market_id: u16) -> Result<&ShardMarket> {
        self.markets.get(market_id as usize).ok_or_else(|| error!(ClearshardError::UnknownMarket))
    }

    fn market_mut(&mut self, market_id: u16) -> Result<&mut ShardMarket> {
        self.markets.get_mut(market_id as usize).ok_or_else(|| error!(ClearshardError::UnknownMarket))
    }

    pub fn open_interest(&self, market_id: u16) -> OpenInterest {
        self.market(market_id)
            .map_or(OpenInterest::default(), |m| OpenInterest { long: m.open_interest, short: m.short_open_interest })
    }

    /// How many of this shard's accounts have a loss recorded in `market_id`.
    pub fn loss_records(&self, market_id: u16) -> Result<u64> {
        Ok(self.market(market_id)?.loss_records)
    }

    /// What the funding crank reads of this shard for one market.
    pub fn funding(&self, market_id: u16) -> Result<(u16, ShardFunding)> {
        Ok((self.index, self.market(market_id)?.funding))
    }

    /// Fees of every market: tokens in the vault that are the venue's.
    pub fn fees(&self) -> Result<i64> {
        self.markets
            .iter()
            .try_fold(0i64, |acc, m| acc.checked_add(m.fees))
            .ok_or_else(|| error!(ClearshardError::MathOverflow))
    }

    /// Tokens the vault owes outright: collateral claims, fees and the
    /// insurance fund's share, less what the fund owes it. Positions make the accounts' real claim their
    /// equity, which [`Shard::reserve`] values.
    pub fn liabilities(&self) -> Result<i64> {
        let insurance = i64::try_from(self.insurance_owed).map_err(|_| error!(ClearshardError::MathOverflow))?;
        let debt = i64::try_from(self.insurance_debt).map_err(|_| error!(ClearshardError::MathOverflow))?;
        self.fees()?
            .checked_sub(debt)
            .and_then(|l| l.checked_add(self.collateral_claims))
            .and_then(|l| l.checked_add(insurance))
            .ok_or_else(|| error!(ClearshardError::MathOverflow))
    }

    /// What the vault must keep: the equity of the shard's accounts at the
    /// oracle (collateral plus the value of their net position in every
    /// market, floored at zero), plus fees and the insurance fund's share,
    /// less what the fund owes it (so no vault draws another's tokens into
    /// the fund's debt).
    /// Every market in which the shard holds a position must be in `markets`.
    pub fn reserve(&self, markets: &[RiskMarket]) -> Result<u64> {
        let overflow = || error!(ClearshardError::MathOverflow);
        let mut equity = i128::from(self.collateral_claims);
        for (id, m) in self.markets.iter().enumerate() {
            let net = i128::from(m.open_interest).wrapping_sub(i128::from(m.short_open_interest));
            if net == 0 {
                continue;
            }
            let market = markets.iter().find(|r| usize::from(r.id) == id).ok_or(ClearshardError::MissingMarket)?;
            let value = net.checked_mul(i128::from(market.oracle_price)).ok_or_else(overflow)?;
            equity = equity.checked_add(value).ok_or_else(overflow)?;
        }
        // Fees are booked on the taker's shard net of the maker's rebate, so
        // never negative: a rebate owed across shards is in the maker's
        // shard's equity, a shortfall that rebalancing fills.
        let owed = i128::from(self.fees()?)
            .checked_add(i128::from(self.insurance_owed))
            .and_then(|o| o.checked_sub(i128::from(self.insurance_debt)))
            .ok_or_else(overflow)?;
        let reserve = equity.max(0).checked_add(owed).ok_or_else(overflow)?.max(0);
        u64::try_from(reserve).map_err(|_| overflow())
    }

    pub fn add_claims(&mut self, amount: i64) -> Result<()> {
        self.collateral_claims = self.collateral_claims.checked_add(amount).ok_or(ClearshardError::MathOverflow)?;
        Ok(())
    }

    /// Books income of the insurance fund held in this vault (a share of a
    /// liquidation fee, a pledged gain): it repays what the fund owes here
    /// first.
    pub fn owe_insurance(&mut self, amount: u64) -> Result<()> {
        let repaid = self.repay_insurance_debt(amount);
        let rest = amount.saturating_sub(repaid);
        self.insurance_owed = self.insurance_owed.checked_add(rest).ok_or(ClearshardError::MathOverflow)?;
        Ok(())
    }

    /// Books what no market could carry of a deficit here as the insurance
    /// fund's debt (after what the fund still holds here).
    pub fn owe_from_insurance(&mut self, amount: u64) -> Result<()> {
        let rest = amount.saturating_sub(self.take_insurance(amount));
        self.insurance_debt = self.insurance_debt.checked_add(rest).ok_or(ClearshardError::MathOverflow)?;
        Ok(())
    }

    /// Lowers the fund's debt here by up to `amount`, tokens that are now
    /// in this vault for it; returns the amount repaid.
    pub fn repay_insurance_debt(&mut self, amount: u64) -> u64 {
        let repaid = amount.min(self.insurance_debt);
        self.insurance_debt = self.insurance_debt.saturating_sub(repaid);
        repaid
    }

    /// The fees here repay the fund's debt here before any is swept: the
    /// venue takes no fee while its owners' vault is short. Returns the
    /// amount repaid.
    pub fn repay_insurance_debt_from_fees(&mut self) -> Result<u64> {
        let fees = u64::try_from(self.fees()?.max(0)).map_err(|_| error!(ClearshardError::MathOverflow))?;
        let repaid = fees.min(self.insurance_debt);
        if repaid > 0 {
            self.take_fees(repaid)?;
            self.insurance_debt = self.insurance_debt.saturating_sub(repaid);
        }
        Ok(repaid)
    }

    /// Takes up to `wanted` of what this shard owes the insurance fund (to
    /// cover a bankruptcy here, or to pay it out); returns the amount taken.
    pub fn take_insurance(&mut self, wanted: u64) -> u64 {
        let taken = wanted.min(self.insurance_owed);
        self.insurance_owed = self.insurance_owed.saturating_sub(taken);
        taken
    }

    /// Uses `sequence` in the matcher's window: an unused one within it.
    pub fn take_sequence(&mut self, matcher_index: u16, sequence: u64) -> Result<()> {
        let window = self.sequences.get_mut(matcher_index as usize).ok_or(ClearshardError::MatcherNotRegistered)?;
        window.take(sequence).map_err(|status| match status {
            SequenceStatus::Used => error!(ClearshardError::BatchSequenceReplayed),
            SequenceStatus::TooOld => error!(ClearshardError::BatchSequenceTooOld),
            SequenceStatus::BeyondWindow | SequenceStatus::Open => error!(ClearshardError::BatchSequenceBeyondWindow),
        })
    }

    /// Moves a market's open interest by one position's change (liquidations,
    /// which are never refused for the cap).
    pub fn book_position_change(&mut self, market_id: u16, change: &PositionChange) -> Result<()> {
        let m = self.market_mut(market_id)?;
        let overflow = || error!(ClearshardError::MathOverflow);
        m.open_interest = m.open_interest.checked_add_signed(change.long_change()).ok_or_else(overflow)?;
        m.short_open_interest = m.short_open_interest.checked_add_signed(change.short_change()).ok_or_else(overflow)?;
        Ok(())
    }

    /// Books what a batch did to this shard's market stats, its fills into
    /// the funding epoch of `now_unix` at the batch's `oracle_price`, and
    /// stamps `accepted_price` (the oracle held inside the breaker's band) as
    /// the last price a trade here was checked against.
    pub fn apply_flow(
        &mut self,
        market_id: u16,
        flow: &MarketFlow,
        (oracle_price, accepted_price): (u64, u64),
        now_unix: i64,
    ) -> Result<()> {
        if flow.fills == 0 && flow.fees == 0 && flow.long_delta == 0 && flow.short_delta == 0 {
            return Ok(());
        }
        let m = self.market_mut(market_id)?;
        let overflow = || error!(ClearshardError::MathOverflow);
        m.open_interest = m.open_interest.checked_add_signed(flow.long_delta).ok_or_else(overflow)?;
        m.short_open_interest = m.short_open_interest.checked_add_signed(flow.short_delta).ok_or_else(overflow)?;
        m.fees = m.fees.checked_add(flow.fees).ok_or_else(overflow)?;
        m.last_oracle_price = accepted_price;
        m.last_oracle_at = now_unix;
        m.fills = m.fills.wrapping_add(u64::from(flow.fills));
        if flow.fills > 0 {
            m.funding.record(epoch_of(now_unix), &flow.funding(oracle_price));
            m.last_price = flow.last_price;
            m.last_batch_at = now_unix;
        }
        Ok(())
    }

    /// Takes `amount` out of the booked fees (swept to the treasury), market
    /// by market in id order.
    pub fn take_fees(&mut self, amount: u64) -> Result<()> {
        let mut left = amount;
        for m in self.markets.iter_mut() {
            let taken = left.min(u64::try_from(m.fees).unwrap_or(0));
            m.fees = m.fees.saturating_sub_unsigned(taken);
            left = left.saturating_sub(taken);
        }
        require!(left == 0, ClearshardError::NoFeesToSweep);
        Ok(())
    }

    /// Follows one account's recorded losses (`Portfolio::liquidation_losses`)
    /// from `before` to `after`: every instruction that records or clears
    /// one calls this, so that the counts stay exact.
    pub fn count_loss_records(&mut self, before: &[u64], after: &[u64]) -> Result<()> {
        if before == after {
            return Ok(());
        }
        for ((m, was), is) in self.markets.iter_mut().zip(before).zip(after) {
            m.loss_records = match (*was > 0, *is > 0) {
                (false, true) => m.loss_records.checked_add(1).ok_or(ClearshardError::MathOverflow)?,
                (true, false) => m.loss_records.checked_sub(1).ok_or(ClearshardError::MathOverflow)?,
                _ => m.loss_records,
            };
        }
        Ok(())
    }

    /// Adds socialization dust to a market's fees.
    pub fn add_fees(&mut self, market_id: u16, amount: i64) -> Result<()> {
        let m = self.market_mut(market_id)?;
        m.fees = m.fees.checked_add(amount).ok_or(ClearshardError::MathOverflow)?;
        Ok(())
    }
}
