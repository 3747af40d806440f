//! `cargo run -p clearshard-idl [-- --check]`: the program's IDL, generated
//! by Anchor's idl-build path (the `anchor-lang-idl` build API compiles the
//! program with feature `idl-build` and collects what it prints), written to
//! `app/idl/clearshard.json` — or, with `--check`, compared with it: CI fails
//! when the committed IDL no longer describes the program.

use anchor_lang_idl::build::IdlBuilder;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().unwrap_or(root);
    match generate(&root) {
        Ok(idl) => {
            let path = root.join("app/idl/clearshard.json");
            if check {
                compare(&path, &idl)
            } else if let Err(e) = std::fs::write(&path, &idl) {
                eprintln!("{}: {e}", path.display());
                ExitCode::FAILURE
            } else {
                println!("wrote {}", path.display());
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("IDL build failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn generate(root: &Path) -> Result<String, String> {
    // The builder runs `cargo +$RUSTUP_TOOLCHAIN` with the toolchain's name
    // unformatted; run the very cargo (and rustc) that runs us instead.
    if let Some(cargo) = std::env::var_os("CARGO") {
        if let Some(bin) = Path::new(&cargo).parent() {
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut dirs = vec![bin.to_path_buf()];
            dirs.extend(std::env::split_paths(&path));
            std::env::set_var("PATH", std::env::join_paths(dirs).map_err(|e| e.to_string())?);
        }
    }
    std::env::remove_var("RUSTUP_TOOLCHAIN");
    let idl = IdlBuilder::new().program_path(root.join("programs/clearshard")).build().map_err(|e| e.to_string())?;
    let mut text = serde_json::to_string_pretty(&idl).map_err(|e| e.to_string())?;
    text.push('\n');
    Ok(text)
}

fn compare(path: &Path, idl: &str) -> ExitCode {
    match std::fs::read_to_string(path) {
        Ok(committed) if committed == idl => {
            println!("{} describes the program", path.display());
            ExitCode::SUCCESS
        }
        Ok(_) => {
            eprintln!("{} differs from the program's IDL: run `make idl` and commit it", path.display());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}
