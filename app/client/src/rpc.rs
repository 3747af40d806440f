//! The venue over JSON-RPC (feature `rpc`): what the operators' commands
//! (`clearshard init`, `settle`, `liquidate`, `status`) read and send, against
//! any cluster — the local validator of `make localnet` or a real one.

use crate::accounts::decode;
use crate::pda;
use crate::snapshot::Snapshot;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{Discriminator, ZeroCopy};
use base64::Engine;
use clearshard::state::{Exchange, MarginAccount, Market, Matcher, PriceFeed, Shard};
use clearshard_engine::RiskMarket;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_message::{AddressLookupTableAccount, Hash};
use solana_rpc_client::rpc_client::RpcClient;
use solana_rpc_client_api::client_error::{Error as ClientError, ErrorKind};
use solana_rpc_client_api::config::{
    RpcAccountInfoConfig, RpcProgramAccountsConfig, RpcSendTransactionConfig, RpcSimulateTransactionConfig,
};
use solana_rpc_client_api::filter::{Memcmp, RpcFilterType};
use solana_rpc_client_api::request::{RpcError, RpcResponseErrorData};
use solana_signature::Signature;
use solana_signer::Signer;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;
use std::time::{Duration, Instant};

/// The `Clock` sysvar's address.
const CLOCK_SYSVAR: Pubkey = Pubkey::from_str_const("SysvarC1ock11111111111111111111111111111111");
/// Most accounts one `getMultipleAccounts` call returns.
const MULTIPLE_ACCOUNTS_LIMIT: usize = 100;
/// Addresses one `extend_lookup_table` instruction carries within a transaction.
const LOOKUP_EXTEND_CHUNK: usize = 24;
/// How long a transaction may stay unconfirmed before its blockhash is checked.
const CONFIRM_POLL: Duration = Duration::from_millis(200);

/// Why a transaction did not settle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The program (or the runtime) refused it: nothing changed on chain.
    Refused {
        /// The program's error code, when the refusal carries one.
        code: Option<u32>,
        /// The error's name as the program logged it (`Error Code: …`).
        name: Option<String>,
        /// For a batch: the index of the fill it names (program return data).
        fill: Option<u16>,
        detail: String,
    },
    /// The cluster could not be reached, or the transaction's fate is unknown
    /// (its blockhash expired unconfirmed): the caller reconciles with chain.
    Transport(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Refused { code, name, detail, .. } => match (name, code) {
                (Some(name), Some(code)) => write!(f, "{name} (error {code})"),
                (None, Some(code)) => write!(f, "error {code}: {detail}"),
                _ => write!(f, "{detail}"),
            },
            SendError::Transport(e) => write!(f, "{e}"),
        }
    }
}

/// What a simulation measured.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Simulated {
    pub compute_units: u64,
}

/// A cluster and the key that pays for (and signs) what this process sends.
pub struct Cluster {
    pub client: RpcClient,
    pub payer: Keypair,
    pub url: String,
}

impl Cluster {
    /// Connects at `confirmed` commitment and checks the node answers.
    pub fn connect(url: &str, payer: Keypair) -> Result<Self, String> {
        let client = RpcClient::new_with_timeout_and_commitment(
            url.to_string(),
            Duration::from_secs(10),
            CommitmentConfig::confirmed(),
        );
        client.get_version().map_err(|e| format!("cannot reach {url}: {}", short(&e)))?;
        Ok(Cluster { client, payer, url: url.to_string() })
    }

    pub fn blockhash(&self) -> Result<Hash, String> {
        self.client.get_latest_blockhash().map_err(|e| format!("getLatestBlockhash: {}", short(&e)))
    }

    /// A blockhash and the last block height at which a transaction using it can land.
    pub fn blockhash_with_expiry(&self) -> Result<(Hash, u64), String> {
        self.client
            .get_latest_blockhash_with_commitment(CommitmentConfig::confirmed())
            .map_err(|e| format!("getLatestBlockhash: {}", short(&e)))
    }

    /// Waits until no transaction whose blockhash was valid up to `height` can land any more.
    pub fn wait_past_block_height(&self, height: u64) -> Result<(), String> {
        loop {
            let now = self
                .client
                .get_block_height_with_commitment(CommitmentConfig::processed())
                .map_err(|e| format!("getBlockHeight: {}", short(&e)))?;
            if now > height {
                return Ok(());
            }
            std::thread::sleep(CONFIRM_POLL);
        }
    }

    /// Signs `ixs` (payer first), sends and waits for confirmation.
    pub fn send(&self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<Signature, SendError> {
        let mut all: Vec<&Keypair> = vec![&self.payer];
        all.extend(signers.iter().filter(|k| k.pubkey() != self.payer.pubkey()));
        let blockhash = self.blockhash().map_err(SendError::Transport)?;
        let tx = Transaction::new_signed_with_payer(ixs, Some(&self.payer.pubkey()), &all, blockhash);
        self.send_and_confirm(&VersionedTransaction::from(tx))
    }

    /// Sends several independent transactions at once, then confirms them all.
    pub fn send_all(&self, txs: &[(Vec<Instruction>, Vec<&Keypair>)]) -> Result<(), String> {
        let blockhash = self.blockhash()?;
        let mut sent = vec![];
        for (ixs, signers) in txs {
            let mut all: Vec<&Keypair> = vec![&self.payer];
            all.extend(signers.iter().filter(|k| k.pubkey() != self.payer.pubkey()));
            let tx = Transaction::new_signed_with_payer(ixs, Some(&self.payer.pubkey()), &all, blockhash);
            let tx = VersionedTransaction::from(tx);
            sent.push((self.submit(&tx, false).map_err(|e| e.to_string())?, tx));
        }
        for (signature, tx) in sent {
            self.confirm(&signature, &tx).map_err(|e| format!("{signature}: {e}"))?;
        }
        Ok(())
    }

    /// Simulates a signed transaction: the compute units it uses, or the
    /// refusal with the program's error code, name and refused fill.
    pub fn simulate(&self, tx: &VersionedTransaction) -> Result<Simulated, SendError> {
        let config = RpcSimulateTransactionConfig {
            sig_verify: false,
            replace_recent_blockhash: true,
            commitment: Some(CommitmentConfig::confirmed()),
            ..Default::default()
        };
        let result = self
            .client
            .simulate_transaction_with_config(tx, config)
            .map_err(|e| SendError::Transport(format!("simulateTransaction: {}", short(&e))))?
            .value;
        match result.err {
            None => Ok(Simulated { compute_units: result.units_consumed.unwrap_or(0) }),
            Some(err) => {
                let fill = result.return_data.as_ref().and_then(|r| refused_fill(&r.data.0));
                Err(refusal(err.into(), result.logs.as_deref().unwrap_or(&[]), fill))
            }
        }
    }

    /// Sends without preflight (the caller simulated) or with it.
    pub fn submit(&self, tx: &VersionedTransaction, skip_preflight: bool) -> Result<Signature, SendError> {
        let config = RpcSendTransactionConfig {
            skip_preflight,
            preflight_commitment: Some(CommitmentConfig::confirmed().commitment),
            max_retries: Some(0),
            ..Default::default()
        };
        self.client.send_transaction_with_config(tx, config).map_err(|e| client_refusal(&e))
    }

    pub fn send_and_confirm(&self, tx: &VersionedTransaction) -> Result<Signature, SendError> {
        let signature = self.submit(tx, false)?;
        self.confirm(&signature, tx)?;
        Ok(signature)
    }

    /// Waits for `signature` at `confirmed`, re-sending while its blockhash is
    /// valid (the node does not retry: `max_retries` 0). A transaction that
    /// failed on chain is a refusal; one whose blockhash expired unconfirmed
    /// is a transport error: it can no longer land.
    pub fn confirm(&self, signature: &Signature, tx: &VersionedTransaction) -> Result<(), SendError> {
        let blockhash = tx.message.recent_blockhash();
        let mut resent = Instant::now();
        loop {
            let statuses = self
                .client
                .get_signature_statuses(&[*signature])
                .map_err(|e| SendError::Transport(format!("getSignatureStatuses: {}", short(&e))))?;
            if let Some(Some(status)) = statuses.value.first() {
                if status.satisfies_commitment(CommitmentConfig::confirmed()) {
                    return match &status.err {
                        None => Ok(()),
                        Some(err) => Err(refusal(err.clone(), &[], None)),
                    };
                }
            }
            let valid = self
                .client
                .is_blockhash_valid(blockhash, CommitmentConfig::processed())
                .map_err(|e| SendError::Transport(format!("isBlockhashValid: {}", short(&e))))?;
            if !valid {
                // One last look: it may have landed in the meantime.
                let last = self.client.get_signature_statuses(&[*signature]).ok();
                if let Some(Some(status)) = last.as_ref().and_then(|s| s.value.first()) {
                    if status.err.is_none() {
                        return Ok(());
                    }
                }
                return Err(SendError::Transport(format!("{signature}: blockhash expired unconfirmed")));
            }
            if resent.elapsed() > Duration::from_secs(2) {
                let _ = self.submit(tx, true);
                resent = Instant::now();
            }
            std::thread::sleep(CONFIRM_POLL);
        }
    }

    pub fn account_data(&self, address: &Pubkey) -> Result<Option<Vec<u8>>, String> {
        let response = self
            .client
            .get_account_with_commitment(address, CommitmentConfig::confirmed())
            .map_err(|e| format!("getAccountInfo {address}: {}", short(&e)))?;
        Ok(response.value.map(|a| a.data))
    }

    /// The program account `T` at `address`; `None` when there is none, an
    /// error when the address holds something else.
    pub fn load<T: ZeroCopy + Discriminator>(&self, address: &Pubkey) -> Result<Option<T>, String> {
        let Some(data) = self.account_data(address)? else { return Ok(None) };
        decode::<T>(&data).map(Some).map_err(|e| format!("{address}: not a {}: {e:?}", type_name::<T>()))
    }

    /// Many accounts at once (`None` where there is none), `getMultipleAccounts` in chunks.
    fn multiple_accounts(&self, addresses: &[Pubkey]) -> Result<Vec<Option<solana_account::Account>>, String> {
        let mut out = Vec::with_capacity(addresses.len());
        for chunk in addresses.chunks(MULTIPLE_ACCOUNTS_LIMIT) {
            let accounts = self
                .client
                .get_multiple_accounts_with_commitment(chunk, CommitmentConfig::confirmed())
                .map_err(|e| format!("getMultipleAccounts: {}", short(&e)))?
                .value;
            out.extend(accounts);
        }
        Ok(out)
    }

    /// Raw data of many of the program's accounts (`None` where there is none).
    pub fn accounts_data(&self, addresses: &[Pubkey]) -> Result<Vec<Option<Vec<u8>>>, String> {
        let accounts = self.multiple_accounts(addresses)?;
        Ok(accounts.into_iter().map(|a| a.filter(|a| a.owner == clearshard::ID).map(|a| a.data)).collect())
    }

    pub fn exchange(&self) -> Result<Exchange, String> {
        self.load::<Exchange>(&pda::exchange())?
            .ok_or_else(|| "no exchange on this cluster: run `clearshard init`".into())
    }

    pub fn shards(&self, count: u16) -> Result<Vec<Shard>, String> {
        let addresses: Vec<Pubkey> = (0..count).map(pda::shard).collect();
        self.decode_all(&addresses)
    }

    pub fn markets(&self, count: u16) -> Result<Vec<Market>, String> {
        let addresses: Vec<Pubkey> = (0..count).map(pda::market).collect();
        self.decode_all(&addresses)
    }

    fn decode_all<T: ZeroCopy + Discriminator>(&self, addresses: &[Pubkey]) -> Result<Vec<T>, String> {
        let data = self.accounts_data(addresses)?;
        addresses
            .iter()
            .zip(data)
            .map(|(address, data)| {
                let data = data.ok_or_else(|| format!("{address}: no {} there", type_name::<T>()))?;
                decode::<T>(&data).map_err(|e| format!("{address}: {e:?}"))
            })
            .collect()
    }

    /// The matcher record of `authority`, if registered.
    pub fn matcher(&self, authority: &Pubkey) -> Result<Option<Matcher>, String> {
        self.load::<Matcher>(&pda::matcher(authority))
    }

    /// Every margin account of the program (`getProgramAccounts` filtered by
    /// the account type), or only `owner`'s.
    pub fn margin_accounts(&self, owner: Option<&Pubkey>) -> Result<Vec<(Pubkey, MarginAccount)>, String> {
        let mut filters = vec![
            RpcFilterType::DataSize(MarginAccount::SPACE as u64),
            RpcFilterType::Memcmp(Memcmp::new_raw_bytes(0, MarginAccount::DISCRIMINATOR.to_vec())),
        ];
        if let Some(owner) = owner {
            filters.push(RpcFilterType::Memcmp(Memcmp::new_raw_bytes(8, owner.to_bytes().to_vec())));
        }
        let config = RpcProgramAccountsConfig {
            filters: Some(filters),
            account_config: RpcAccountInfoConfig {
                encoding: Some(solana_account_decoder_client_types::UiAccountEncoding::Base64),
                commitment: Some(CommitmentConfig::confirmed()),
                ..Default::default()
            },
            ..Default::default()
        };
        let accounts = self
            .client
            .get_program_ui_accounts_with_config(&clearshard::ID, config)
            .map_err(|e| format!("getProgramAccounts: {}", short(&e)))?;
        let mut out: Vec<(Pubkey, MarginAccount)> = accounts
            .into_iter()
            .map(|(address, account)| {
                let data = account.data.decode().ok_or_else(|| format!("{address}: undecodable account data"))?;
                decode::<MarginAccount>(&data).map(|m| (address, m)).map_err(|e| format!("{address}: {e:?}"))
            })
            .collect::<Result<_, _>>()?;
        out.sort_by_key(|(address, m)| (m.shard, *address));
        Ok(out)
    }

    /// Markets as the program's risk checks see them now, from the built-in
    /// price feeds (the oracle accounts this client reads).
    pub fn risk_markets(&self, quote_decimals: u8, markets: &[Market]) -> Result<Vec<RiskMarket>, String> {
        let feeds: Vec<Pubkey> = markets.iter().map(|m| m.oracle).collect();
        let data = self.accounts_data(&feeds)?;
        let now = self.unix_timestamp()?;
        markets
            .iter()
            .zip(data)
            .map(|(market, data)| {
                let data = data
                    .ok_or_else(|| format!("market {}: oracle {} is not a built-in feed", market.id, market.oracle))?;
                let feed = decode::<PriceFeed>(&data).map_err(|e| format!("market {} oracle: {e:?}", market.id))?;
                crate::accounts::risk_market(market, &feed, quote_decimals, now)
                    .map_err(|e| format!("market {}: {e:?}", market.id))
            })
            .collect()
    }

    /// Token balance of an SPL token account.
    pub fn token_balance(&self, address: &Pubkey) -> Result<u64, String> {
        let balance = self
            .client
            .get_token_account_balance_with_commitment(address, CommitmentConfig::confirmed())
            .map_err(|e| format!("getTokenAccountBalance {address}: {}", short(&e)))?;
        balance.value.amount.parse().map_err(|e| format!("{address}: balance {e}"))
    }

    /// Token balances of many SPL token accounts (0 where there is none).
    pub fn token_balances(&self, addresses: &[Pubkey]) -> Result<Vec<u64>, String> {
        let accounts = self.multiple_accounts(addresses)?;
        // SPL Token account layout: mint 32, owner 32, amount u64.
        let amount =
            |a: solana_account::Account| a.data.get(64..72).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes);
        Ok(accounts
            .into_iter()
            .map(|a| a.filter(|a| a.owner == spl_token_interface::ID).and_then(amount).unwrap_or(0))
            .collect())
    }

    /// Every shard, vault, market and margin account of the exchange, read
    /// at once: what `status` reports and the conservation check compares.
    pub fn snapshot(&self) -> Result<Snapshot, String> {
        let exchange = self.exchange()?;
        let vaults: Vec<Pubkey> = (0..exchange.shard_count).map(pda::vault).collect();
        Ok(Snapshot {
            shards: self.shards(exchange.shard_count)?,
            vaults: self.token_balances(&vaults)?,
            insurance_tokens: self.insurance_balance()?,
            markets: self.markets(exchange.market_count)?,
            margins: self.margin_accounts(None)?,
            now: self.unix_timestamp()?,
        })
    }

    /// The cluster's clock (`Clock` sysvar): what the program compares expiries with.
    pub fn unix_timestamp(&self) -> Result<i64, String> {
        let clock = CLOCK_SYSVAR;
        let data = self
            .client
            .get_account_with_commitment(&clock, CommitmentConfig::confirmed())
            .map_err(|e| format!("Clock sysvar: {}", short(&e)))?
            .value
            .ok_or("no Clock sysvar")?
            .data;
        let clock: anchor_lang::solana_program::clock::Clock =
            bincode::deserialize(&data).map_err(|e| format!("Clock sysvar: {e}"))?;
        Ok(clock.unix_timestamp)
    }

    /// Tokens in the insurance fund's vault.
    pub fn insurance_balance(&self) -> Result<u64, String> {
        self.token_balance(&pda::insurance_vault())
    }

    /// Creates a lookup table holding `addresses` (payer-owned), and waits
    /// until it is active.
    pub fn create_lookup_table(&self, addresses: &[Pubkey]) -> Result<AddressLookupTableAccount, String> {
        use solana_address_lookup_table_interface::instruction as alt;
        let payer = self.payer.pubkey();
        let slot = self.client.get_slot().map_err(|e| format!("getSlot: {}", short(&e)))?;
        let (create, table) = alt::create_lookup_table(payer, payer, slot.saturating_sub(1));
        self.send(&[create], &[]).map_err(|e| format!("create lookup table: {e}"))?;
        let extends: Vec<(Vec<Instruction>, Vec<&Keypair>)> = addresses
            .chunks(LOOKUP_EXTEND_CHUNK)
            .map(|chunk| (vec![alt::extend_lookup_table(table, payer, Some(payer), chunk.to_vec())], vec![]))
            .collect();
        // Extensions append in the order they land: send them one by one.
        for tx in &extends {
            self.send_all(std::slice::from_ref(tx)).map_err(|e| format!("extend lookup table: {e}"))?;
        }
        self.wait_for_table(table, addresses.len())?;
        Ok(AddressLookupTableAccount { key: table, addresses: addresses.to_vec() })
    }

    /// A lookup table created earlier (a resumed run), as the chain holds it.
    pub fn lookup_table(&self, table: Pubkey) -> Result<AddressLookupTableAccount, String> {
        let data = self
            .client
            .get_account_with_commitment(&table, CommitmentConfig::confirmed())
            .map_err(|e| format!("lookup table {table}: {}", short(&e)))?
            .value
            .ok_or_else(|| format!("lookup table {table} is gone"))?
            .data;
        let parsed = solana_address_lookup_table_interface::state::AddressLookupTable::deserialize(&data)
            .map_err(|e| format!("lookup table {table}: {e:?}"))?;
        Ok(AddressLookupTableAccount { key: table, addresses: parsed.addresses.to_vec() })
    }

    /// A table is usable from the slot after its last extension.
    fn wait_for_table(&self, table: Pubkey, len: usize) -> Result<(), String> {
        let start = Instant::now();
        let mut extended_at = None;
        while start.elapsed() < Duration::from_secs(30) {
            let current = self.lookup_table(table)?;
            let slot = self.client.get_slot().map_err(|e| format!("getSlot: {}", short(&e)))?;
            if current.addresses.len() == len {
                match extended_at {
                    None => extended_at = Some(slot),
                    Some(at) if slot > at => return Ok(()),
                    Some(_) => {}
                }
            }
            std::thread::sleep(CONFIRM_POLL);
        }
        Err(format!("lookup table {table} did not become active"))
    }
}

fn type_name<T>() -> &'static str {
    std::any::type_name::<T>().rsplit("::").next().unwrap_or("account")
}

/// An RPC error in one line (the client's Display repeats the request).
pub fn short(e: &ClientError) -> String {
    match e.kind.as_ref() {
        ErrorKind::Io(io) => io.to_string(),
        ErrorKind::Reqwest(r) => {
            if r.is_connect() {
                "connection refused".to_string()
            } else if r.is_timeout() {
                "timed out".to_string()
            } else {
                r.to_string()
            }
        }
        other => other.to_string(),
    }
}

/// The fill a refused batch names in its return data: (fill index u16, code u32).
fn refused_fill(base64_data: &str) -> Option<u16> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(base64_data).ok()?;
    Some(u16::from_le_bytes(bytes.get(..2)?.try_into().ok()?))
}

fn refusal(err: TransactionError, logs: &[String], fill: Option<u16>) -> SendError {
    let code = match &err {
        TransactionError::InstructionError(
            _,
            anchor_lang::solana_program::instruction::error::InstructionError::Custom(c),
        ) => Some(*c),
        _ => None,
    };
    // Anchor logs "AnchorError … Error Code: Name. Error Number: N. …".
    let name = logs.iter().find_map(|l| {
        let rest = l.split("Error Code: ").nth(1)?;
        Some(rest.split('.').next()?.to_string())
    });
    SendError::Refused { code, name, fill, detail: err.to_string() }
}

/// A send that failed: a refusal when the node's preflight ran the program,
/// a transport error otherwise.
fn client_refusal(e: &ClientError) -> SendError {
    if let ErrorKind::RpcError(RpcError::RpcResponseError {
        data: RpcResponseErrorData::SendTransactionPreflightFailure(sim),
        ..
    }) = e.kind.as_ref()
    {
        if let Some(err) = &sim.err {
            let fill = sim.return_data.as_ref().and_then(|r| refused_fill(&r.data.0));
            return refusal(err.clone().into(), sim.logs.as_deref().unwrap_or(&[]), fill);
        }
    }
    match e.get_transaction_error() {
        Some(err) => refusal(err, &[], None),
        None => SendError::Transport(short(e)),
    }
}
