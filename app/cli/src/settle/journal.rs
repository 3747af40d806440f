//! The settle run's journal: what makes a run resumable after a crash or a
//! `kill -9` with every fill settled exactly once.
//!
//! Append-only JSON Lines, each entry flushed to disk before the step it
//! records has effects: a batch's plan (its shard, sequence, fills and exact
//! content) before its transaction is sent; its landing after confirmation.
//! A restart trusts the chain over the journal for every planned batch whose
//! landing was not recorded: the program's sequence window says whether that
//! sequence was used (landed, exactly once) or is still open (the identical
//! batch is sent again; a sequence settles at most once). A run keeps at most
//! one unconfirmed batch per shard, so such a sequence is always within the
//! window when the run resumes.

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A batch as planned: enough to send the identical transaction again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedBatch {
    pub id: u64,
    /// One shard, or two (a cross-shard batch; the first one's sequence).
    pub shards: Vec<u16>,
    pub sequence: u64,
    /// Input line numbers of its fills, in batch order.
    pub lines: Vec<usize>,
    pub markets: Vec<u16>,
    pub accounts: Vec<String>,
    /// The encoded fills, hex.
    pub fills: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// The run this journal belongs to.
    Start {
        matcher: String,
        program: String,
        input_sha256: String,
        fills: usize,
    },
    /// The lookup table the run's batches go through.
    Table {
        address: String,
    },
    Planned(PlannedBatch),
    /// Batches about to be submitted with a blockhash valid up to this block
    /// height: until it has passed, a killed run's transaction may still land.
    Sent {
        ids: Vec<u64>,
        last_valid_block_height: u64,
    },
    /// Confirmed on chain (`signature`), or found used on chain at a restart.
    Landed {
        id: u64,
        signature: Option<String>,
    },
    /// Refused by the program: its sequence was never used.
    Refused {
        id: u64,
        line: Option<usize>,
        error: String,
    },
    /// Left out under `--skip-refused`.
    Skipped {
        line: usize,
        error: String,
    },
}

pub struct Journal {
    path: PathBuf,
    file: File,
    /// Held for the whole run: two runs on one journal would plan the same sequences.
    _lock: File,
}

impl Journal {
    /// Opens (or creates) the journal at `path` and locks it; returns the
    /// entries already there. A torn last line (a kill mid-write) is dropped.
    pub fn open(path: &Path) -> Result<(Journal, Vec<Entry>), String> {
        let lock_path = path.with_extension("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| format!("{}: {e}", lock_path.display()))?;
        lock.try_lock().map_err(|_| format!("{} is in use by another settle run", path.display()))?;
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let mut entries = vec![];
        let complete = if text.ends_with('\n') { text.as_str() } else { text.rsplit_once('\n').map_or("", |(a, _)| a) };
        for (i, line) in complete.lines().enumerate() {
            let entry = serde_json::from_str(line)
                .map_err(|e| format!("{} line {}: corrupt journal entry: {e}", path.display(), i + 1))?;
            entries.push(entry);
        }
        let mut file =
            OpenOptions::new().create(true).append(true).open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if complete.len() != text.len() {
            // Rewrite without the torn tail, so appends start on a fresh line.
            file.set_len(complete.len() as u64 + u64::from(!complete.is_empty()))
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        file.flush().map_err(|e| format!("{}: {e}", path.display()))?;
        Ok((Journal { path: path.to_path_buf(), file, _lock: lock }, entries))
    }

    /// Appends `entries` and waits until they are on disk.
    pub fn record(&mut self, entries: &[Entry]) -> Result<(), String> {
        let mut text = String::new();
        for entry in entries {
            text.push_str(&serde_json::to_string(entry).map_err(|e| e.to_string())?);
            text.push('\n');
        }
        self.file.write_all(text.as_bytes()).map_err(|e| format!("{}: {e}", self.path.display()))?;
        self.file.sync_data().map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_a_reopen_and_a_torn_tail_is_dropped() {
        let dir = std::env::temp_dir().join(format!("clearshard-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("run.journal");
        let _ = std::fs::remove_file(&path);
        let landed = Entry::Landed { id: 3, signature: None };
        {
            let (mut journal, entries) = Journal::open(&path).unwrap();
            assert!(entries.is_empty());
            journal.record(&[Entry::Table { address: "T".into() }, landed.clone()]).unwrap();
            // A second run on the same journal is refused while this one holds it.
            assert!(Journal::open(&path).is_err());
        }
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"landed\":{\"id\":4,").unwrap();
        drop(file);
        let (mut journal, entries) = Journal::open(&path).unwrap();
        assert_eq!(entries, vec![Entry::Table { address: "T".into() }, landed.clone()]);
        journal.record(&[Entry::Landed { id: 5, signature: None }]).unwrap();
        drop(journal);
        let (_, entries) = Journal::open(&path).unwrap();
        assert_eq!(entries.len(), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
