//! Settlement batches as the transactions a matcher posts: a compute-unit
//! limit, a priority fee and `settle_batch` in a v0 message whose non-signer accounts come
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
/// The compute units a batch transaction requests, from the all-in figures
/// `make bench` meters on the SBF program (2026-11-30: about 8,000 fixed,
/// 1,070 per fill, 750 per margin account, 1,100 per market), each with
/// about 25% headroom for accounts holding more positions and fills that
/// reduce them. `tests/tests/compute_budget.rs` checks every shape it tries
/// stays within the request and is not far below it.
pub const COMPUTE_UNITS_BASE: u32 = 7_000;
pub const COMPUTE_UNITS_PER_FILL: u32 = 1_350;
pub const COMPUTE_UNITS_PER_ACCOUNT: u32 = 1_000;
pub const COMPUTE_UNITS_PER_MARKET: u32 = 1_300;
pub const COMPUTE_UNITS_PER_SHARD: u32 = 1_000;

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
        // set_compute_unit_limit (u32) and set_compute_unit_price (u64).
        let compute_ix = (1 + 1 + 1 + 5) + (1 + 1 + 1 + 9);
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
        let per = |count: usize, units: u32| units.saturating_mul(u32::try_from(count).unwrap_or(u32::MAX));
        COMPUTE_UNITS_BASE
            .saturating_add(per(self.fills, COMPUTE_UNITS_PER_FILL))
            .saturating_add(per(self.margin_accounts, COMPUTE_UNITS_PER_ACCOUNT))
            .saturating_add(per(self.markets, COMPUTE_UNITS_PER_MARKET))
            .saturating_add(per(self.shards, COMPUTE_UNITS_PER_SHARD))
    }
}

/// What a batch transaction asks of the leader: a compute-unit limit and a
/// priority fee (micro-lamports per compute unit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ComputeBudget {
    pub units: u32,
    pub micro_lamports_per_unit: u64,
}

impl BatchShape {
    /// The budget of this batch's transaction: its modelled units, and `fee`.
    pub fn budget(&self, micro_lamports_per_unit: u64) -> ComputeBudget {
        ComputeBudget { units: self.compute_units(), micro_lamports_per_unit }
    }
}

/// Signs the v0 transaction for a batch instruction. `table` must hold every
/// account of `settle` except the matcher and the programs.
pub fn batch_transaction(
    matcher: &Keypair,
    settle: Instruction,
    budget: ComputeBudget,
    table: &AddressLookupTableAccount,
    blockhash: Hash,
) -> Result<VersionedTransaction, String> {
    let ixs = [
        ComputeBudgetInstruction::set_compute_unit_limit(budget.units),
        ComputeBudgetInstruction::set_compute_unit_price(budget.micro_lamports_per_unit),
        settle,
    ];
    table_transaction(matcher, &ixs, table, blockhash)
}

/// A v0 transaction of `ixs` paid and signed by `payer`, its accounts looked
/// up in `table` where it holds them.
pub fn table_transaction(
    payer: &Keypair,
    ixs: &[Instruction],
    table: &AddressLookupTableAccount,
    blockhash: Hash,
) -> Result<VersionedTransaction, String> {
    use solana_signer::Signer;
    let message = v0::Message::try_compile(&payer.pubkey(), ixs, std::slice::from_ref(table), blockhash)
        .map_err(|e| format!("compile: {e:?}"))?;
    VersionedTransaction::try_new(VersionedMessage::V0(message), &[payer]).map_err(|e| format!("sign: {e:?}"))
}

pub fn serialized_len(tx: &VersionedTransaction) -> usize {
    bincode::serialize(tx).map(|b| b.len()).unwrap_or(usize::MAX)
}

/// A lookup table holding `addresses` (the key is only a name here).
pub fn lookup_table(key: Pubkey, addresses: Vec<Pubkey>) -> AddressLookupTableAccount {
    AddressLookupTableAccount { key, addresses }
}
