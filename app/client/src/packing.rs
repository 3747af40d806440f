//! Settlement batches as the transactions a matcher posts: a compute-unit
//! limit and `settle_batch` in a v0 message whose non-signer accounts come
//! from an address lookup table (1 byte each instead of 32).

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_keypair::Keypair;
use solana_message::{v0, AddressLookupTableAccount, Hash, VersionedMessage};
use solana_transaction::versioned::VersionedTransaction;

/// Largest serialized transaction the network accepts.
pub const MAX_TX_BYTES: usize = 1232;
/// Accounts one transaction may lock.
pub const MAX_ACCOUNT_LOCKS: usize = 64;
/// Compute units requested per fill, and for the rest of the instruction.
/// From the SBF engine benchmark (`make bench`) with headroom for account
/// loading and Anchor's checks, which the engine figure does not include.
pub const COMPUTE_UNITS_PER_FILL: u32 = 2_500;
pub const COMPUTE_UNITS_BASE: u32 = 60_000;

/// Bytes of a compact-u16 length prefix.
fn compact_len(n: usize) -> usize {
    match n {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        _ => 3,
    }
}

/// What decides a batch transaction's size and locks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchShape {
    pub shards: usize,
    pub markets: usize,
    pub margin_accounts: usize,
    pub fills: usize,
}

impl BatchShape {
    /// Exact serialized length of the signed v0 transaction (checked against
    /// real serialization in tests).
    pub fn tx_len(&self) -> usize {
        let static_keys = 3; // matcher (signer, payer), compute budget program, clearshard
        let ix_accounts = 3 + self.shards + 2 * self.markets + self.margin_accounts;
        let data = 1 + 8 + 1 + 4 + clearshard_engine::FILL_LEN * self.fills;
        let compute_ix = 1 + 1 + 1 + 5;
        let settle_ix = 1 + compact_len(ix_accounts) + ix_accounts + compact_len(data) + data;
        let writable = self.shards + self.margin_accounts;
        let readonly = 2 + 2 * self.markets; // matcher record, exchange, markets, oracles
        let lookup = 32 + compact_len(writable) + writable + compact_len(readonly) + readonly;
        let message =
            1 + 3 + compact_len(static_keys) + 32 * static_keys + 32 + 1 + compute_ix + settle_ix + 1 + lookup;
        1 + 64 + message
    }

    pub fn account_locks(&self) -> usize {
        3 + 2 + self.shards + 2 * self.markets + self.margin_accounts
    }

    pub fn fits(&self) -> bool {
        self.tx_len() <= MAX_TX_BYTES && self.account_locks() <= MAX_ACCOUNT_LOCKS
    }

    pub fn compute_units(&self) -> u32 {
        COMPUTE_UNITS_BASE + COMPUTE_UNITS_PER_FILL * self.fills as u32
    }
}

/// Signs the v0 transaction for a batch instruction. `table` must hold every
/// account of `settle` except the matcher and the programs.
pub fn batch_transaction(
    matcher: &Keypair,
    settle: Instruction,
    compute_units: u32,
    table: &AddressLookupTableAccount,
    blockhash: Hash,
) -> Result<VersionedTransaction, String> {
    use solana_signer::Signer;
    let ixs = [ComputeBudgetInstruction::set_compute_unit_limit(compute_units), settle];
    let message = v0::Message::try_compile(&matcher.pubkey(), &ixs, std::slice::from_ref(table), blockhash)
        .map_err(|e| format!("compile: {e:?}"))?;
    VersionedTransaction::try_new(VersionedMessage::V0(message), &[matcher]).map_err(|e| format!("sign: {e:?}"))
}

pub fn serialized_len(tx: &VersionedTransaction) -> usize {
    bincode::serialize(tx).map(|b| b.len()).unwrap_or(usize::MAX)
}

/// A lookup table holding `addresses` (the key is only a name here).
pub fn lookup_table(key: Pubkey, addresses: Vec<Pubkey>) -> AddressLookupTableAccount {
    AddressLookupTableAccount { key, addresses }
}
