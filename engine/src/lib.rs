//! Settlement and margin engine of clearshard.
//!
//! Everything the hot path computes lives here: decoding fills, applying them
//! to positions (cash, cost basis, realized PnL, fees), open-interest flows and
//! health. It is `no_std` with no Solana dependency so that the same code runs
//! in the on-chain program, in the client, and in the SBF harness that meters it.
//!
//! Units: collateral and every amount of money are native units of the
//! collateral mint (`i64`); positions are base lots (`i64`); prices inside the
//! engine are quote native units per base lot (`u64`), fills carry ticks.
#![no_std]
#![cfg_attr(
    not(test),
    deny(
        clippy::arithmetic_side_effects,
        clippy::cast_possible_truncation,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

#[cfg(feature = "idl-build")]
extern crate alloc;

pub mod batch;
pub mod error;
pub mod fill;
pub mod funding;
pub mod health;
pub mod idl;
pub mod limits;
pub mod liquidation;
pub mod market;
pub mod math;
pub mod oracle;
pub mod portfolio;
pub mod position;
pub mod sequence;
pub mod wind_down;

pub use batch::{settle_fills, BatchFlows, MarketFlow, OpenInterest, MAX_BATCH_ACCOUNTS, MAX_BATCH_MARKETS};
pub use error::{EngineError, FillError};
pub use fill::{Fill, FILL_LEN};
pub use health::{Health, MarketLookup, RiskMarket, MAX_PRICE_JUMP_BPS};
pub use limits::{CostWindow, TradeLimits};
pub use market::MarketParams;
pub use portfolio::{Booking, Portfolio, MAX_POSITIONS};
pub use position::{Position, PositionChange};
pub use sequence::{SequenceStatus, SequenceWindow, SEQUENCE_WINDOW};

/// Basis points in one.
pub const BPS: u64 = 10_000;
