//! A program as a cluster holds it (feature `rpc`): the bytes the
//! upgradeable loader keeps in the program's data account, and who may
//! replace them — what `clearshard verify` compares with a local build.

use crate::rpc::Cluster;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::bpf_loader_upgradeable::{UpgradeableLoaderState, ID as UPGRADEABLE_LOADER};

/// A deployed program's executable and its upgrade terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployedProgram {
    pub programdata: Pubkey,
    /// The slot of the last deployment or upgrade.
    pub slot: u64,
    /// Who may replace the bytes; `None` once made immutable.
    pub upgrade_authority: Option<Pubkey>,
    /// The executable, without the zeros the loader pads its account with
    /// (a program deployed with room to grow).
    pub elf: Vec<u8>,
}

/// `bytes` without trailing zeros: how a deployed program and a local file
/// are compared, since the loader's account may be longer than the file.
pub fn without_padding(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i.saturating_add(1));
    &bytes[..end]
}

impl Cluster {
    /// The executable the cluster runs at `program_id`; an error naming
    /// the cause when the address holds no upgradeable program.
    pub fn deployed_program(&self, program_id: &Pubkey) -> Result<DeployedProgram, String> {
        let program = self.owned_by_loader(program_id)?;
        let UpgradeableLoaderState::Program { programdata_address } = state(&program, program_id)? else {
            return Err(format!("{program_id} is not a program account of the upgradeable loader"));
        };
        let data = self.owned_by_loader(&programdata_address)?;
        let UpgradeableLoaderState::ProgramData { slot, upgrade_authority_address } =
            state(&data, &programdata_address)?
        else {
            return Err(format!("{programdata_address} is not {program_id}'s program data"));
        };
        let elf = data.get(UpgradeableLoaderState::size_of_programdata_metadata()..).unwrap_or_default();
        Ok(DeployedProgram {
            programdata: programdata_address,
            slot,
            upgrade_authority: upgrade_authority_address,
            elf: without_padding(elf).to_vec(),
        })
    }

    fn owned_by_loader(&self, address: &Pubkey) -> Result<Vec<u8>, String> {
        let account = self
            .client
            .get_account_with_commitment(address, solana_commitment_config::CommitmentConfig::confirmed())
            .map_err(|e| format!("getAccountInfo {address}: {}", crate::rpc::short(&e)))?
            .value
            .ok_or_else(|| format!("no account at {address}"))?;
        if account.owner != UPGRADEABLE_LOADER {
            return Err(format!("{address} is owned by {}, not the upgradeable loader", account.owner));
        }
        Ok(account.data)
    }
}

fn state(data: &[u8], address: &Pubkey) -> Result<UpgradeableLoaderState, String> {
    bincode::deserialize(data).map_err(|e| format!("{address}: not an upgradeable loader account: {e}"))
}
