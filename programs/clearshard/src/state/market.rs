//! A perpetual market and the rules that read it: its oracle, and funding.

use crate::errors::ClearshardError;
use crate::state::{PendingMarketChange, PriceFeed};
use anchor_lang::prelude::*;
use clearshard_engine::funding::{Funding, FundingRate, ShardFunding};
use clearshard_engine::oracle::{OracleReading, PythPriceUpdate};
use clearshard_engine::wind_down::gain_payout;
use clearshard_engine::{MarketParams, RiskMarket};

/// A wind-down falls back to the last accepted price only once no trade has
/// accepted one for a week: longer than any weekend or outage a market
/// should be wound down through.
pub const FEED_DEATH_SECS: i64 = 7 * 86_400;

/// The Pyth Solana receiver program, owner of `PriceUpdateV2` accounts.
pub const PYTH_RECEIVER_ID: Pubkey = pubkey!("rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ");

/// Where a market's price comes from (stored as a byte in `Market`).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OracleKind {
    /// The market's own `PriceFeed` PDA, published by the admin.
    Builtin,
    /// A Pyth pull-oracle `PriceUpdateV2` account owned by the Pyth receiver.
    Pyth,
}

impl OracleKind {
    pub fn from_byte(byte: u8) -> Result<Self> {
        match byte {
            0 => Ok(OracleKind::Builtin),
            1 => Ok(OracleKind::Pyth),
            _ => Err(ClearshardError::InvalidOracleKind.into()),
        }
    }

    pub fn to_byte(self) -> u8 {
        match self {
            OracleKind::Builtin => 0,
            OracleKind::Pyth => 1,
        }
    }

    /// The price in `oracle` and its publish time, with the checks its kind needs.
    /// The reading, its reference (the feed's moving average, in its
    /// exponent) and its publish time.
    fn read<'info>(self, market: &Market, oracle: &'info AccountInfo<'info>) -> Result<(OracleReading, i64, i64)> {
        match self {
            OracleKind::Builtin => {
                let feed = *AccountLoader::<PriceFeed>::try_from(oracle)?.load()?;
                Ok((feed.reading(), feed.ema_price, feed.publish_time))
            }
            OracleKind::Pyth => {
                require_keys_eq!(*oracle.owner, PYTH_RECEIVER_ID, ClearshardError::OracleOwnedByWrongProgram);
                let data = oracle.try_borrow_data()?;
                let update = PythPriceUpdate::decode(&data).map_err(ClearshardError::from)?;
                require!(update.feed_id == market.pyth_feed_id, ClearshardError::OracleFeedMismatch);
                require!(update.fully_verified, ClearshardError::OracleNotFullyVerified);
                Ok((update.reading, update.ema_price, update.publish_time))
            }
        }
    }
}

/// A perpetual market. Written by the admin and the funding crank; read-only
/// in settlement.
///
/// Layout (480 bytes): id 2, bump 1, oracle kind 1, test flag 1, priced 1,
/// wound down 1, final 1, oracle 32, params 56, name 16, Pyth feed id 32,
/// socialized loss index 8, funding 80 (index, rates, and the round under
/// way), a queued change 144, listed from 8, the wind-down 40, a queued
/// delisting 8, the settlement pool 48.
#[account(zero_copy)]
#[derive(Debug)]
pub struct Market {
    pub id: u16,
    pub bump: u8,
    pub oracle_kind: u8,
    /// 1: listed as a test market, the only kind the built-in feed (published
    /// by the admin) may price. Fixed at listing.
    pub test_market: u8,
    /// 1 once the market has had a price source: from then on every switch
    /// waits out the timelock. Never cleared.
    pub priced: u8,
    /// 1 once wound down (`wind_down_market`); never cleared.
    pub wound_down: u8,
    /// 1 once the wound-down market is final (`finalize_wind_down`): every
    /// position closed and no deficit of its still to come; its held gains
    /// are paid from then on. Never cleared.
    pub settlement_final: u8,
    /// The price account settlement and margin read for this market.
    pub oracle: Pubkey,
    pub params: MarketParams,
    pub name: [u8; 16],
    /// For Pyth: the feed id the price update must carry.
    pub pyth_feed_id: [u8; 32],
    /// Cumulative socialized loss per lot: every open lot pays as it rises.
    pub cumulative_loss: i64,
    /// The funding index as a function of time, and the round under way.
    pub funding: Funding,
    /// Parameters or a price source queued behind the timelock.
    pub pending: PendingMarketChange,
    /// No batch trades the market before this time: a listing waits out the
    /// timelock like any change that can move value.
    pub listed_from: i64,
    /// When the market was wound down: funding stops there.
    pub wound_down_at: i64,
    /// When a wind-down was armed (0: none): it completes a timeout later,
    /// if the market stayed silent and its price readable meanwhile.
    pub wind_down_armed_at: i64,
    /// The price per lot every position closes at once wound down.
    pub settlement_price: u64,
    /// The other side of every position closed at the settlement price: the
    /// lots it took (long positive) and its quote balance. Both return to
    /// zero once every position is closed, since longs and shorts match.
    pub wind_down_lots: i64,
    pub wind_down_cash: i64,
    /// When the admin's delisting may wind the market down (0: none queued):
    /// announced a timelock ahead, like any change that moves value.
    pub delist_due: i64,
    /// The settlement pool, in the market's book (`wind_down_cash`): the
    /// gains closed positions hold and have not been paid (faces), and the
    /// deficit shares registered against them and not yet paid.
    pub gains_held: u64,
    pub deficits_held: u64,
    /// Fixed at finality: what the gains are paid (what is left once the
    /// deficits are covered) and the faces they share it by...
    pub payout_pool: u64,
    pub payout_faces: u64,
    /// ...and what covers the deficits (all of them, or every gain if they
    /// are more) and their faces.
    pub recovery_pool: u64,
    pub recovery_faces: u64,
}
const _: () = assert!(core::mem::size_of::<Market>() == 480);

impl Market {
    pub const SPACE: usize = 8 + core::mem::size_of::<Market>();

    /// The oracle price per lot: `oracle` must be this market's oracle
    /// account, of its kind, fresh and narrow. A circuit breaker, never a
    /// fallback: every reader of a price (settlement, withdrawals with
    /// positions, liquidation, funding, rebalancing) goes through here.
    pub fn fresh_price<'info>(
        &self,
        oracle: &'info AccountInfo<'info>,
        quote_decimals: u8,
        now_unix: i64,
    ) -> Result<(u64, u64)> {
        require_keys_eq!(oracle.key(), self.oracle, ClearshardError::WrongOracle);
        let (reading, reference, publish_time) = OracleKind::from_byte(self.oracle_kind)?.read(self, oracle)?;
        let age = now_unix.saturating_sub(publish_time);
        require!(age >= 0 && age <= i64::from(self.params.max_staleness_secs), ClearshardError::StaleOracle);
        let price = reading.price_per_lot(&self.params, quote_decimals).map_err(ClearshardError::from)?;
        Ok((price, reading.reference_per_lot(reference, &self.params, quote_decimals, price)))
    }

    /// The market as the engine's risk math sees it at `oracle_price` (and
    /// the circuit breaker's `reference_price`) and `now_unix`: funding is
    /// settled up to that second.
    pub fn risk(&self, oracle_price: u64, reference_price: u64, now_unix: i64) -> Result<RiskMarket> {
        // Funding stops at the wind-down.
        let funded_until = if self.is_wound_down() { now_unix.min(self.wound_down_at) } else { now_unix };
        Ok(RiskMarket {
            id: self.id,
            params: self.params,
            oracle_price,
            reference_price,
            cumulative_funding: self.funding.index_at(funded_until).map_err(ClearshardError::from)?,
            cumulative_loss: self.cumulative_loss,
        })
    }

    /// Feeds the funding round the next shards' fills of the epoch that just
    /// ended and, once every one of `shard_count` shards is read, sets the
    /// rate of the epoch after next.
    pub fn read_funding(
        &mut self,
        shards: &[(u16, ShardFunding)],
        shard_count: u16,
        now_unix: i64,
    ) -> Result<Option<FundingRate>> {
        for (index, shard) in shards {
            let index = *index;
            self.funding.read_shard(index, shard, now_unix).map_err(ClearshardError::from)?;
        }
        let min_volume = self.params.funding_min_volume_lots;
        Ok(self.funding.complete(shard_count, min_volume, now_unix).map_err(ClearshardError::from)?)
    }

    pub fn is_wound_down(&self) -> bool {
        self.wound_down != 0
    }

    /// The market as risk math sees it at `now_unix`: at its fresh oracle
    /// price, or once wound down at its settlement price (the oracle is not
    /// read: a dead feed must not keep anyone in).
    pub fn priced_risk<'info>(
        &self,
        oracle: &'info AccountInfo<'info>,
        quote_decimals: u8,
        now_unix: i64,
    ) -> Result<RiskMarket> {
        if self.is_wound_down() {
            require_keys_eq!(oracle.key(), self.oracle, ClearshardError::WrongOracle);
            return self.risk(self.settlement_price, self.settlement_price, now_unix);
        }
        let (oracle_price, reference_price) = self.fresh_price(oracle, quote_decimals, now_unix)?;
        self.risk(oracle_price, reference_price, now_unix)
    }

    /// The settlement price a wind-down at `now_unix` fixes: the feed's own
    /// moving average, read fresh and narrow (a print, or a moment chosen
    /// between prints, moves it by the average's drift only); or, once no
    /// trade has accepted a price for `FEED_DEATH_SECS` and the feed is
    /// unusable for whatever reason, `last_accepted`, the last (banded)
    /// oracle price a trade was checked against at `accepted_at`. Returns the
    /// price and whether it is that fallback.
    pub fn settlement_price_at<'info>(
        &self,
        oracle: &'info AccountInfo<'info>,
        quote_decimals: u8,
        now_unix: i64,
        (last_accepted, accepted_at): (u64, i64),
    ) -> Result<(u64, bool)> {
        require_keys_eq!(oracle.key(), self.oracle, ClearshardError::WrongOracle);
        match self.fresh_average(oracle, quote_decimals, now_unix) {
            Ok(average) => Ok((average, false)),
            Err(e) => {
                let dead = now_unix.saturating_sub(accepted_at) >= FEED_DEATH_SECS && last_accepted > 0;
                if dead {
                    Ok((last_accepted, true))
                } else {
                    Err(e)
                }
            }
        }
    }

    /// The feed's moving average per lot, with the checks a price gets.
    fn fresh_average<'info>(
        &self,
        oracle: &'info AccountInfo<'info>,
        quote_decimals: u8,
        now_unix: i64,
    ) -> Result<u64> {
        let (reading, average, publish_time) = OracleKind::from_byte(self.oracle_kind)?.read(self, oracle)?;
        let age = now_unix.saturating_sub(publish_time);
        require!(age >= 0 && age <= i64::from(self.params.max_staleness_secs), ClearshardError::StaleOracle);
        reading.price_per_lot(&self.params, quote_decimals).map_err(ClearshardError::from)?;
        Ok(reading.average_per_lot(average, &self.params, quote_decimals).map_err(ClearshardError::from)?)
    }

    /// Winds the market down at `now`: from then on every position closes at
    /// `price` and funding stops.
    pub fn wind_down(&mut self, now: i64, price: u64) {
        self.wound_down = 1;
        self.wound_down_at = now;
        self.settlement_price = price;
    }

    pub fn liveness_timeout_secs(&self) -> i64 {
        i64::from(self.params.liveness_timeout_mins).saturating_mul(60)
    }

    /// Books one position closed at the settlement price: the wind-down
    /// book takes the other side of `lots_closed` (the position's signed
    /// size) and of the cash the position received; `held` of its gain
    /// stays in the book, in the settlement pool.
    pub fn book_close(&mut self, lots_closed: i64, cash_to_position: i64, held: u64) -> Result<()> {
        let overflow = || error!(ClearshardError::MathOverflow);
        self.wind_down_lots = self.wind_down_lots.checked_add(lots_closed).ok_or_else(overflow)?;
        self.wind_down_cash = self.wind_down_cash.checked_sub(cash_to_position).ok_or_else(overflow)?;
        self.gains_held = self.gains_held.checked_add(held).ok_or_else(overflow)?;
        Ok(())
    }

    /// Registers a deficit share against the pool (paid once final).
    pub fn register_deficit(&mut self, share: u64) -> Result<()> {
        self.deficits_held = self.deficits_held.checked_add(share).ok_or(ClearshardError::MathOverflow)?;
        Ok(())
    }

    /// Makes the market final: fixes what the deficits and the gains are
    /// paid. Every gain and deficit is known now, so the rates are the same
    /// whoever claims, in whatever order.
    pub fn make_final(&mut self) {
        let covered = self.deficits_held.min(self.gains_held);
        self.settlement_final = 1;
        (self.recovery_pool, self.recovery_faces) = (covered, self.deficits_held);
        (self.payout_pool, self.payout_faces) = (self.gains_held.saturating_sub(covered), self.gains_held);
    }

    /// Pays one account's gain (`gain` face) and recovery (`recovery` face)
    /// at the rates fixed at finality, out of the book; returns what each
    /// is paid.
    pub fn pay_claims(&mut self, gain: u64, recovery: u64) -> Result<(u64, u64)> {
        let overflow = || error!(ClearshardError::MathOverflow);
        let gain_paid = gain_payout(gain, self.payout_pool, self.payout_faces).map_err(ClearshardError::from)?;
        let recovery_paid =
            gain_payout(recovery, self.recovery_pool, self.recovery_faces).map_err(ClearshardError::from)?;
        self.gains_held = self.gains_held.checked_sub(gain).ok_or_else(overflow)?;
        self.deficits_held = self.deficits_held.checked_sub(recovery).ok_or_else(overflow)?;
        let paid = gain_paid.checked_add(recovery_paid).ok_or_else(overflow)?;
        let paid_signed = i64::try_from(paid).map_err(|_| overflow())?;
        self.wind_down_cash = self.wind_down_cash.checked_sub(paid_signed).ok_or_else(overflow)?;
        Ok((gain_paid, recovery_paid))
    }

    pub fn is_final(&self) -> bool {
        self.settlement_final != 0
    }

    /// Spreads `per_lot` of socialized loss over every open lot.
    pub fn socialize(&mut self, per_lot: i64) -> Result<()> {
        self.cumulative_loss = self.cumulative_loss.checked_add(per_lot).ok_or(ClearshardError::MathOverflow)?;
        Ok(())
    }

    /// Refuses a change of what a live market's positions are denominated in.
    pub fn require_same_units(&self, params: &MarketParams) -> Result<()> {
        let now = &self.params;
        require!(
            params.tick_size == now.tick_size
                && params.base_lot_size == now.base_lot_size
                && params.base_decimals == now.base_decimals,
            ClearshardError::MarketUnitsImmutable
        );
        Ok(())
    }
}
