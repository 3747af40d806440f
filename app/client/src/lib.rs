//! Client of clearshard: PDAs, instruction builders, account decoding, the
//! router that packs fills into shard batches, the capacity simulator, and
//! (feature `bank`) an exchange on the in-process bank, (feature `rpc`) the
//! venue over JSON-RPC and the program a cluster runs.

pub mod accounts;
#[cfg(feature = "bank")]
pub mod bank;
#[cfg(feature = "rpc")]
pub mod deployed;
pub mod instructions;
pub mod packing;
pub mod pda;
pub mod presets;
pub mod rng;
pub mod router;
#[cfg(feature = "rpc")]
pub mod rpc;
pub mod sim;
pub mod snapshot;

pub use clearshard;
pub use clearshard_engine as engine;
