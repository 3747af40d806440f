pub mod exchange;
pub mod margin_account;
pub mod market;
pub mod market_change;
pub mod matcher;
pub mod pause;
pub mod price_feed;
pub mod seeds;
pub mod shard;

pub use exchange::*;
pub use margin_account::*;
pub use market::*;
pub use market_change::*;
pub use matcher::*;
pub use pause::*;
pub use price_feed::*;
pub use shard::*;

/// Upper bounds fixed by account layouts.
/// Shards: as many as `socialize_loss` can name in one transaction (it must
/// see every shard's open interest and insurance share at one moment, so it
/// cannot be paged): 64 account locks less its 7 fixed accounts (payer,
/// program, exchange, margin account, vault, insurance vault, token program)
/// and up to `MAX_MARKETS` markets where a loss arose. Tested at this size
/// (`socialize.rs`).
pub const MAX_SHARDS: u16 = 64 - 7 - MAX_MARKETS;
pub const MAX_MARKETS: u16 = 16;
const _: () = assert!(MAX_MARKETS as usize == clearshard_engine::portfolio::MAX_MARKETS);
pub const MAX_MATCHERS: u16 = 16;

/// Pause flags, on the exchange (all shards) and on one shard.
pub const PAUSE_DEPOSITS: u8 = 1 << 0;
pub const PAUSE_WITHDRAWALS: u8 = 1 << 1;
pub const PAUSE_SETTLEMENT: u8 = 1 << 2;
pub const PAUSE_ALL: u8 = PAUSE_DEPOSITS | PAUSE_WITHDRAWALS | PAUSE_SETTLEMENT;
