//! The local append-only journal that holds verified callbacks while Redis cannot take them.
//! An entry is on disk (fsync'd) before OSS gets its 200; replay moves entries into Redis,
//! idempotently, and deletes a file only once every entry in it has been applied.
//!
//! Layout: `active.jsonl` takes appends; replay first renames it to `sealed-<uuidv7>.jsonl`,
//! so appends and replay never touch the same file. Each line is
//! `<16 hex of sha256(json)> <json>`: a torn last line (crash mid-write, never acknowledged)
//! fails its checksum and is skipped, and every append starts on a fresh line (a separator
//! is written first when the file ends in a torn line), so a torn tail never swallows the
//! next acknowledged entry. A lock file stops two processes sharing a directory.

use super::Accepted;
use prometheus::IntGauge;
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const ACTIVE: &str = "active.jsonl";
const SEALED_PREFIX: &str = "sealed-";

pub struct Journal {
    dir: PathBuf,
    active: Mutex<Option<File>>,
    depth: IntGauge,
    /// Held for the life of the process: the OS drops the lock when the process dies.
    _lock: File,
}

impl Journal {
    pub fn open(dir: &Path, depth: IntGauge) -> io::Result<Journal> {
        fs::create_dir_all(dir)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("journal.lock"))?;
        lock.try_lock().map_err(|_| {
            io::Error::other(format!(
                "{} is in use by another gateway process; give each replica its own journal_dir",
                dir.display()
            ))
        })?;
        let journal = Journal {
            dir: dir.to_path_buf(),
            active: Mutex::new(None),
            depth,
            _lock: lock,
        };
        let mut pending = 0;
        for f in journal.files()? {
            pending += read_entries(&f)?.len();
        }
        journal.depth.set(pending as i64);
        Ok(journal)
    }

    /// Appends and fsyncs one entry. Blocking: call from `spawn_blocking`.
    pub fn append_blocking(&self, entry: &Accepted) -> io::Result<()> {
        let json = serde_json::to_string(entry).map_err(io::Error::other)?;
        let line = format!("{} {json}\n", checksum(&json));
        let mut guard = self.active.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            let file = OpenOptions::new()
                .create(true)
                .read(true)
                .append(true)
                .open(self.dir.join(ACTIVE))?;
            sync_dir(&self.dir)?;
            *guard = Some(file);
        }
        let file = guard.as_mut().expect("opened above");
        let written = ends_mid_line(file)
            .and_then(|torn| {
                // The torn line was never acknowledged; keep it apart from this one.
                let start = if torn { "\n" } else { "" };
                file.write_all(format!("{start}{line}").as_bytes())
            })
            .and_then(|_| file.sync_data());
        if written.is_err() {
            // Reopen next time rather than append after a partial line.
            *guard = None;
        }
        written?;
        self.depth.inc();
        Ok(())
    }

    pub async fn append(self: &Arc<Self>, entry: Accepted) -> io::Result<()> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.append_blocking(&entry))
            .await
            .map_err(io::Error::other)?
    }

    /// Seals the active file (if it holds anything) and lists every sealed file, oldest first.
    pub fn seal(&self) -> io::Result<Vec<PathBuf>> {
        {
            let mut guard = self.active.lock().unwrap_or_else(|p| p.into_inner());
            let active = self.dir.join(ACTIVE);
            if active.metadata().map(|m| m.len() > 0).unwrap_or(false) {
                *guard = None;
                let sealed = self.dir.join(format!(
                    "{SEALED_PREFIX}{}.jsonl",
                    uuid::Uuid::now_v7().simple()
                ));
                fs::rename(&active, &sealed)?;
                sync_dir(&self.dir)?;
            }
        }
        self.sealed_files()
    }

    fn sealed_files(&self) -> io::Result<Vec<PathBuf>> {
        sealed_in(&self.dir)
    }

    fn files(&self) -> io::Result<Vec<PathBuf>> {
        files_in(&self.dir)
    }

    /// Forgets a sealed file whose `entries` have all been applied.
    pub fn finish(&self, file: &Path, entries: usize) -> io::Result<()> {
        fs::remove_file(file)?;
        sync_dir(&self.dir)?;
        self.depth.sub(entries as i64);
        Ok(())
    }

    pub fn depth(&self) -> i64 {
        self.depth.get()
    }
}

fn sealed_in(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(SEALED_PREFIX) && n.ends_with(".jsonl"))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Every journal file in `dir`, oldest first, without taking the lock: reading is safe next
/// to a running gateway (`upload-gateway journal inspect`).
pub fn files_in(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = sealed_in(dir)?;
    let active = dir.join(ACTIVE);
    if active.exists() {
        files.push(active);
    }
    Ok(files)
}

/// The entries of one journal file; lines that fail their checksum are skipped and logged.
pub fn read_entries(path: &Path) -> io::Result<Vec<Accepted>> {
    let reader = BufReader::new(File::open(path)?);
    let mut out = Vec::new();
    for (n, line) in reader.split(b'\n').enumerate() {
        let line = line?;
        let parsed = std::str::from_utf8(&line)
            .ok()
            .and_then(|l| l.split_once(' '))
            .filter(|(sum, json)| *sum == checksum(json))
            .and_then(|(_, json)| serde_json::from_str::<Accepted>(json).ok());
        match parsed {
            Some(entry) => out.push(entry),
            None => tracing::warn!(
                file = %path.display(),
                line = n + 1,
                "skipping a torn or unreadable journal line (never acknowledged)"
            ),
        }
    }
    Ok(out)
}

/// Whether the file's last byte is not a newline (a write that crashed or failed halfway).
fn ends_mid_line(file: &File) -> io::Result<bool> {
    use std::os::unix::fs::FileExt;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(false);
    }
    let mut last = [0u8; 1];
    file.read_exact_at(&mut last, len - 1)?;
    Ok(last[0] != b'\n')
}

fn checksum(json: &str) -> String {
    hex::encode(&Sha256::digest(json.as_bytes())[..8])
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callbacks::binding::Binding;
    use crate::domain::{UploadId, UserId};
    use crate::providers::{ObjectMeta, VerifiedCallback};

    fn entry(object: &str) -> Accepted {
        Accepted {
            callback: VerifiedCallback::from_storage_check(
                "oss",
                time::OffsetDateTime::now_utc(),
                "b",
                object,
                ObjectMeta {
                    size: 1,
                    etag: Some("E".into()),
                    content_type: None,
                    crc64: None,
                    binding: None,
                },
            ),
            binding: Binding::Upload {
                upload_id: UploadId::new(),
                user: UserId::parse("alice").unwrap(),
                declared_size: None,
            },
        }
    }

    fn gauge() -> IntGauge {
        IntGauge::new("t", "t").unwrap()
    }

    #[test]
    fn entries_survive_reopening_and_torn_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        {
            let j = Journal::open(dir.path(), gauge()).unwrap();
            j.append_blocking(&entry("a")).unwrap();
            j.append_blocking(&entry("b")).unwrap();
            assert_eq!(j.depth(), 2);
        }
        // A crash mid-write leaves half a line.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join(ACTIVE))
            .unwrap();
        f.write_all(b"0123456789abcdef {\"provider\":\"oss\",\"rece")
            .unwrap();
        drop(f);

        let j = Journal::open(dir.path(), gauge()).unwrap();
        assert_eq!(j.depth(), 2);
        let files = j.seal().unwrap();
        assert_eq!(files.len(), 1);
        let entries = read_entries(&files[0]).unwrap();
        let objects: Vec<_> = entries
            .iter()
            .map(|e| e.callback.fields().object.as_str())
            .collect();
        assert_eq!(objects, ["a", "b"]);
        // New appends go to a fresh active file while the sealed one is replayed.
        j.append_blocking(&entry("c")).unwrap();
        j.finish(&files[0], 2).unwrap();
        assert_eq!(j.depth(), 1);
        let files = j.seal().unwrap();
        assert_eq!(
            read_entries(&files[0]).unwrap()[0].callback.fields().object,
            "c"
        );
    }

    fn tear(dir: &Path) {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(ACTIVE))
            .unwrap();
        f.write_all(b"0123456789abcdef {\"provider\":\"oss\",\"rece")
            .unwrap();
    }

    fn objects(j: &Journal) -> Vec<String> {
        let mut out = Vec::new();
        for f in j.seal().unwrap() {
            for e in read_entries(&f).unwrap() {
                out.push(e.callback.fields().object.clone());
            }
        }
        out
    }

    #[test]
    fn an_append_after_a_torn_tail_found_at_start_up_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        // A first entry torn by a crash (or a full disk) before anything else was written.
        tear(dir.path());
        let j = Journal::open(dir.path(), gauge()).unwrap();
        assert_eq!(j.depth(), 0);
        j.append_blocking(&entry("after-crash")).unwrap();
        assert_eq!(j.depth(), 1);
        assert_eq!(objects(&j), ["after-crash"]);
    }

    #[test]
    fn an_append_after_a_write_torn_while_running_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path(), gauge()).unwrap();
        j.append_blocking(&entry("a")).unwrap();
        // A write of this process that stopped halfway (ENOSPC, EIO) leaves half a line.
        tear(dir.path());
        j.append_blocking(&entry("b")).unwrap();
        j.append_blocking(&entry("c")).unwrap();
        assert_eq!(j.depth(), 3);
        assert_eq!(objects(&j), ["a", "b", "c"]);
    }

    #[test]
    fn a_directory_serves_one_process_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let _j = Journal::open(dir.path(), gauge()).unwrap();
        let second = Journal::open(dir.path(), gauge());
        assert!(second.is_err());
    }
}
