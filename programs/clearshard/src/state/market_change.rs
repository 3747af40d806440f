//! Changes to a live market that can move value (its parameters, its price
//! source) wait out the exchange's timelock, so that owners can leave first.

use super::{Exchange, Market, OracleKind, MIN_TIMELOCK_SECS};
use crate::errors::ClearshardError;
use anchor_lang::prelude::*;
use clearshard_engine::MarketParams;

/// What the admin queued for a market, and when it may apply (0: nothing).
///
/// Layout (144 bytes): params due 8, oracle due 8, params 56, oracle 32,
/// Pyth feed id 32, oracle kind 1, padding 7.
#[zero_copy]
#[derive(Debug, Default)]
pub struct PendingMarketChange {
    pub params_due: i64,
    pub oracle_due: i64,
    pub params: MarketParams,
    pub oracle: Pubkey,
    pub pyth_feed_id: [u8; 32],
    pub oracle_kind: u8,
    pub _padding: [u8; 7],
}
const _: () = assert!(core::mem::size_of::<PendingMarketChange>() == 144);

/// Which part of a market a queued change replaces, or its delisting (in events).
pub const CHANGE_PARAMS: u8 = 0;
pub const CHANGE_ORACLE: u8 = 1;
pub const CHANGE_DELISTING: u8 = 2;

impl Market {
    /// Whether `params` only stop things: the same parameters with a lower or
    /// equal open-interest cap. It stops new exposure and moves no value; at a
    /// cap below today's interest, a position closes only against another
    /// closing one. Everything else can move value and waits.
    pub fn only_tightens(&self, params: &MarketParams) -> bool {
        let with_old_cap =
            MarketParams { max_open_interest_per_shard: self.params.max_open_interest_per_shard, ..*params };
        with_old_cap == self.params && params.max_open_interest_per_shard <= self.params.max_open_interest_per_shard
    }

    pub fn set_oracle(&mut self, kind: OracleKind, oracle: Pubkey, feed_id: [u8; 32]) {
        self.priced = 1;
        self.oracle_kind = kind.to_byte();
        self.oracle = oracle;
        self.pyth_feed_id = feed_id;
    }

    /// Applies every queued part that is due at `now`; refuses if none is,
    /// if one has been due for longer than the timelock (a change nobody
    /// applied is not kept for a moment of the admin's choosing), or if a
    /// pause anywhere held owners in since one was queued.
    pub fn apply_due_changes(&mut self, now: i64, exchange: &Exchange) -> Result<()> {
        let pending = self.pending;
        let window = i64::from(exchange.timelock_secs);
        let due = |at: i64| at != 0 && now >= at;
        let expired = |at: i64| at != 0 && now.saturating_sub(at) > window;
        require!(pending.params_due != 0 || pending.oracle_due != 0, ClearshardError::NoChangeQueued);
        require!(due(pending.params_due) || due(pending.oracle_due), ClearshardError::ChangeNotDue);
        require!(!expired(pending.params_due) && !expired(pending.oracle_due), ClearshardError::ChangeExpired);
        for at in [pending.params_due, pending.oracle_due].into_iter().filter(|at| due(*at)) {
            exchange.require_unpaused_since(at.saturating_sub(window))?;
        }
        if due(pending.params_due) {
            self.params = pending.params;
            self.pending.params_due = 0;
        }
        if due(pending.oracle_due) {
            self.set_oracle(OracleKind::from_byte(pending.oracle_kind)?, pending.oracle, pending.pyth_feed_id);
            self.pending.oracle_due = 0;
        }
        Ok(())
    }

    /// Drops whatever is queued, a delisting too; refuses if nothing is.
    pub fn cancel_changes(&mut self) -> Result<()> {
        let queued = self.pending.params_due != 0 || self.pending.oracle_due != 0 || self.delist_due != 0;
        require!(queued, ClearshardError::NoChangeQueued);
        self.pending = PendingMarketChange::default();
        self.delist_due = 0;
        Ok(())
    }

    /// Whether the admin's delisting may wind the market down at `now`: it
    /// is due, has not lapsed (due for at most a timelock, at least a day: a
    /// delisting nobody carried out is not kept for a moment of the admin's
    /// choosing), and nothing anywhere was paused since it was queued
    /// (owners could leave all along). Otherwise only silence winds it down.
    pub fn delisting_is_due(&self, now: i64, exchange: &Exchange) -> bool {
        let window = i64::from(exchange.timelock_secs.max(MIN_TIMELOCK_SECS));
        let queued_at = self.delist_due.saturating_sub(i64::from(exchange.timelock_secs));
        self.delist_due != 0
            && now >= self.delist_due
            && now.saturating_sub(self.delist_due) <= window
            && exchange.require_unpaused_since(queued_at).is_ok()
    }
}
