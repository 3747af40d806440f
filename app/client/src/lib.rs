//! Client of clearshard: PDAs, instruction builders, account decoding, the
//! router that packs fills into shard batches, the capacity simulator, and
//! (feature `bank`) an exchange on the in-process bank.

pub mod accounts;
#[cfg(feature = "bank")]
pub mod bank;
pub mod instructions;
pub mod packing;
pub mod pda;
pub mod presets;
pub mod rng;
pub mod router;
pub mod sim;

pub use clearshard;
pub use clearshard_engine as engine;
