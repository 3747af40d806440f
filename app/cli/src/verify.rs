//! `clearshard verify`: the sha256 of a local build of the program and, with
//! `--deployed`, whether a cluster runs exactly those bytes. The build is
//! byte-reproducible from any checkout (`make reproducible` checks it), so
//! anyone can build the source they read and compare.

use clearshard_client::deployed::without_padding;
use clearshard_client::rpc::Cluster;
use sha2::{Digest, Sha256};
use solana_keypair::Keypair;
use std::path::Path;

/// What to compare the local file with.
pub struct VerifyArgs<'a> {
    pub so: &'a Path,
    /// `Some(url)`: the program deployed there.
    pub deployed: Option<&'a str>,
    pub program_id: anchor_lang::prelude::Pubkey,
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

pub fn run(args: &VerifyArgs) -> Result<(), String> {
    let local = std::fs::read(args.so).map_err(|e| format!("{}: {e} (build it: make sbf)", args.so.display()))?;
    println!("local     {}  {} bytes  sha256 {}", args.so.display(), local.len(), sha256(&local));
    // The loader pads its account with zeros: both sides are compared without them.
    let local = without_padding(&local);
    println!("          without trailing zeros  {} bytes  sha256 {}", local.len(), sha256(local));
    let Some(url) = args.deployed else { return Ok(()) };
    // Reads only: the key is never asked to sign.
    let cluster = Cluster::connect(url, Keypair::new())?;
    let deployed = cluster.deployed_program(&args.program_id)?;
    let authority = deployed.upgrade_authority.map_or_else(|| "none (immutable)".to_string(), |a| a.to_string());
    println!(
        "deployed  {} at {url}  without trailing zeros  {} bytes  sha256 {}",
        args.program_id,
        deployed.elf.len(),
        sha256(&deployed.elf)
    );
    println!("          program data {}, last deployed in slot {}", deployed.programdata, deployed.slot);
    println!("          upgrade authority {authority}");
    if deployed.elf != local {
        let at =
            deployed.elf.iter().zip(local).position(|(a, b)| a != b).unwrap_or(local.len().min(deployed.elf.len()));
        return Err(format!("the deployed program differs from {} (first at byte {at})", args.so.display()));
    }
    println!("match: the cluster runs these bytes");
    Ok(())
}
