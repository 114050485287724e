//! Copies of an SQLite database file: taken while a server uses it (SQLite's online backup,
//! every page read in one read transaction, so the copy is the database as at one moment
//! and writers never wait), checked page by page, and put back only when nothing uses the
//! file.
//!
//! "In use" is an advisory lock on a file beside the database (`DB.lock`): every
//! [`Sqlite`](super::Sqlite) holds a shared `flock` on it for as long as it is open, and a
//! restore takes it exclusively. Not on the database file itself: closing any other
//! descriptor of that file would drop the POSIX locks SQLite holds on it.

use super::{connect, Result, StoreError, MIGRATIONS};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Whether a lock is shared by every user of the file or held by one alone.
#[derive(Clone, Copy)]
pub(super) enum Lock {
    /// A server or command using the database.
    Shared,
    /// A restore replacing it.
    Exclusive,
}

/// The lock file of the database at `db`.
fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes `lock` on the database at `db` without waiting; `None` if another holds a lock
/// that excludes it. The lock lasts as long as the returned file is open.
pub(super) fn lock(db: &Path, lock: Lock) -> Result<Option<File>> {
    let path = lock_path(db);
    // Read-only when it exists: a lock file another user made (root running a command)
    // still locks; flock needs no write access.
    let file = File::open(&path)
        .or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => File::options()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path),
            _ => Err(e),
        })
        .map_err(|e| StoreError::Open {
            place: path.display().to_string(),
            reason: e.to_string(),
            hint: "check that its folder exists and is writable",
        })?;
    let how = match lock {
        Lock::Shared => libc::LOCK_SH,
        Lock::Exclusive => libc::LOCK_EX,
    };
    // SAFETY: flock on a file descriptor this function owns; no memory is shared.
    let rc = unsafe { libc::flock(file.as_raw_fd(), how | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(Some(file));
    }
    let err = std::io::Error::last_os_error();
    if err.kind() == std::io::ErrorKind::WouldBlock {
        return Ok(None);
    }
    Err(StoreError::Open {
        place: path.display().to_string(),
        reason: err.to_string(),
        hint: "the file system may not support file locks",
    })
}

/// Opens an existing database file without creating one.
fn open_existing(path: &Path) -> Result<Connection> {
    if !path.is_file() {
        return Err(StoreError::Open {
            place: path.display().to_string(),
            reason: "no such file".into(),
            hint: "give the path of a Plansync database or backup file",
        });
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::Open {
        place: path.display().to_string(),
        reason: e.to_string(),
        hint: "check that it is readable",
    })?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

/// Copies every page of `from` into `to` in one step: one read transaction on `from`.
fn copy(from: &Connection, to: &mut Connection) -> Result<()> {
    let backup = Backup::new(from, to)?;
    for _ in 0..100 {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            // Another connection held a write lock on the copy's destination or the source
            // was busy: try again shortly (bounded).
            _ => std::thread::sleep(std::time::Duration::from_millis(100)),
        }
    }
    Err(StoreError::Database(
        "the database stayed busy for 10 seconds: try again".into(),
    ))
}

/// What a page-by-page check of a database file found.
#[derive(Debug, Clone, PartialEq)]
pub struct FileCheck {
    /// Its schema version.
    pub schema: usize,
    /// The schema version this build knows.
    pub knows: usize,
    /// Its size in bytes.
    pub bytes: u64,
    /// What SQLite's integrity check reported (empty when the file is intact).
    pub problems: Vec<String>,
}

/// Checks every page and index of the database at `path` (`PRAGMA integrity_check`).
fn check_connection(conn: &Connection) -> Result<FileCheck> {
    let mut stmt = conn.prepare("PRAGMA integrity_check(20)")?;
    let problems: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .filter(|line| line != "ok")
        .collect();
    let schema: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let pages: u64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let page_size: u64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    Ok(FileCheck {
        schema,
        knows: MIGRATIONS.len(),
        bytes: pages * page_size,
        problems,
    })
}

/// Takes a consistent copy of the database at `db` into the new file `out` while a server
/// may be using it: written beside `out` first and renamed into place once checked, so
/// `out` is either a whole backup or absent. Refuses to overwrite an existing file.
pub fn backup(db: &Path, out: &Path) -> Result<FileCheck> {
    if out.exists() {
        return Err(StoreError::Open {
            place: out.display().to_string(),
            reason: "the file exists".into(),
            hint: "give a new file name for the backup; nothing was overwritten",
        });
    }
    let partial = partial_path(out);
    let _ = std::fs::remove_file(&partial);
    let result = (|| {
        let from = open_existing(db)?;
        let mut to = connect(&partial)?;
        copy(&from, &mut to)?;
        drop(from);
        // One self-contained file: no write-ahead log beside it.
        to.pragma_update(None, "journal_mode", "DELETE")?;
        let check = check_connection(&to)?;
        if !check.problems.is_empty() {
            return Err(StoreError::Corrupt {
                place: db.display().to_string(),
                reason: format!("its copy failed the check: {}", check.problems.join("; ")),
            });
        }
        drop(to);
        File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(|e| StoreError::Database(e.to_string()))?;
        std::fs::rename(&partial, out).map_err(|e| StoreError::Open {
            place: out.display().to_string(),
            reason: e.to_string(),
            hint: "check that the backup's folder is writable",
        })?;
        sync_folder(out);
        Ok(check)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// Checks the database or backup at `path` page by page, on a consistent copy (so a
/// running server is neither stopped nor changed), and returns the copy's path for the
/// caller to open and load (it removes it afterwards).
pub fn check_copy(path: &Path) -> Result<(FileCheck, PathBuf)> {
    let copy_path = std::env::temp_dir().join(format!(
        "plansync-check-{}-{}.db",
        std::process::id(),
        rand::random::<u64>()
    ));
    let result = (|| {
        let from = open_existing(path)?;
        let mut to = connect(&copy_path)?;
        copy(&from, &mut to).map_err(|e| StoreError::Corrupt {
            place: path.display().to_string(),
            reason: e.to_string(),
        })?;
        check_connection(&to)
    })();
    match result {
        Ok(check) => Ok((check, copy_path)),
        Err(e) => {
            remove_database(&copy_path);
            Err(e)
        }
    }
}

/// Removes a database file and the files SQLite keeps beside it.
pub fn remove_database(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal", ".lock"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq)]
pub struct Restored {
    /// The database as it was before, kept beside it (`None` if there was none).
    pub kept: Option<PathBuf>,
}

/// Puts the backup at `from` in place as the database at `db`, refusing while any server or
/// command uses `db`. A database already there is first copied beside it
/// (`DB.before-restore-SECONDS`), so a restore loses nothing.
pub fn restore(from: &Path, db: &Path, now_secs: i64) -> Result<Restored> {
    let existed = db.exists() && std::fs::metadata(db).is_ok_and(|m| m.len() > 0);
    let Some(_lock) = lock(db, Lock::Exclusive)? else {
        return Err(StoreError::InUse {
            place: db.display().to_string(),
        });
    };
    let backup = open_existing(from)?;
    let check = check_connection(&backup).map_err(|e| StoreError::Corrupt {
        place: from.display().to_string(),
        reason: e.to_string(),
    })?;
    if !check.problems.is_empty() || check.schema > check.knows {
        return Err(StoreError::Corrupt {
            place: from.display().to_string(),
            reason: if check.problems.is_empty() {
                format!("its schema is version {}, newer than this Plansync knows ({}); nothing was restored", check.schema, check.knows)
            } else {
                format!("{}; nothing was restored", check.problems.join("; "))
            },
        });
    }
    let kept = if existed {
        let kept = PathBuf::from(format!("{}.before-restore-{now_secs}", db.display()));
        let current = open_existing(db)?;
        let mut to = connect(&kept)?;
        copy(&current, &mut to)?;
        to.pragma_update(None, "journal_mode", "DELETE")?;
        Some(kept)
    } else {
        None
    };
    // Through SQLite, not a file copy: a write-ahead log beside the old file is replaced too.
    let mut to = connect(db)?;
    copy(&backup, &mut to)?;
    let check = check_connection(&to)?;
    if !check.problems.is_empty() {
        return Err(StoreError::Corrupt {
            place: db.display().to_string(),
            reason: format!("after the restore: {}", check.problems.join("; ")),
        });
    }
    Ok(Restored { kept })
}

/// `out`'s name while it is being written.
fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_owned();
    name.push(".partial");
    out.with_file_name(name)
}

/// Makes a rename in `path`'s folder durable (best effort).
fn sync_folder(path: &Path) {
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
}
