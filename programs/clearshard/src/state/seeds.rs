//! PDA seed prefixes, one place for program and client.

pub const EXCHANGE: &[u8] = b"exchange";
pub const SHARD: &[u8] = b"shard";
pub const VAULT: &[u8] = b"vault";
pub const INSURANCE: &[u8] = b"insurance";
pub const MARKET: &[u8] = b"market";
pub const PRICE: &[u8] = b"price";
pub const MATCHER: &[u8] = b"matcher";
pub const MARGIN: &[u8] = b"margin";
