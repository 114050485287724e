//! `plansync backup`, `restore` and `check`.

use crate::args::{BackupArgs, CheckArgs, RestoreArgs};
use anyhow::Context;
use plansync_server::Location;

/// `plansync backup`: a consistent copy of a database while the server runs.
pub async fn backup(a: BackupArgs) -> anyhow::Result<()> {
    let BackupArgs { db, out } = a;
    let started = std::time::Instant::now();
    let (from, to) = (db.clone(), out.clone());
    let file = tokio::task::spawn_blocking(move || plansync_server::backup::backup(&from, &to))
        .await?
        .with_context(|| format!("could not back up {}", db.display()))?;
    println!(
        "Backed up {} to {} ({}, schema version {}) in {:.1} s. Check it with: plansync check --db {}",
        db.display(),
        out.display(),
        size(file.bytes),
        file.schema,
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}

/// `plansync restore`: puts a checked backup in place as the database.
pub async fn restore(a: RestoreArgs) -> anyhow::Result<()> {
    let RestoreArgs { from, db } = a;
    let check = plansync_server::backup::check(&Location::Sqlite(from.clone()))
        .await
        .with_context(|| format!("could not read the backup {}", from.display()))?;
    anyhow::ensure!(
        check.ok(),
        "the backup {} did not pass its check, so nothing was restored:\n  {}",
        from.display(),
        check.problems().join("\n  ")
    );
    let now = plansync_server::now_ms() / 1000;
    let (src, dst) = (from.clone(), db.clone());
    let restored =
        tokio::task::spawn_blocking(move || plansync_server::backup::restore(&src, &dst, now))
            .await?
            .with_context(|| format!("could not restore {}", from.display()))?;
    if let Some(kept) = &restored.kept {
        println!("The database that was there is kept as {}.", kept.display());
    }
    println!(
        "Restored {} as {} ({} plan(s)). Start the server with --db {}.",
        from.display(),
        db.display(),
        check.plans.len(),
        db.display()
    );
    Ok(())
}

/// `plansync check`: verifies a database or a backup and says what it holds.
pub async fn check(a: CheckArgs) -> anyhow::Result<()> {
    let location = a.db.location()?;
    let check = plansync_server::backup::check(&location)
        .await
        .with_context(|| format!("could not check {}", location.describe()))?;
    let (have, know) = check.schema;
    let schema = match have.cmp(&know) {
        std::cmp::Ordering::Equal => format!("schema version {have}, current"),
        std::cmp::Ordering::Less => {
            format!("schema version {have}; the next start brings it to {know}")
        }
        std::cmp::Ordering::Greater => format!("schema version {have}, newer than {know}"),
    };
    match &check.file {
        Some(f) => println!("{}: {}, {schema}.", location.describe(), size(f.bytes)),
        None => println!("{}: {schema}.", location.describe()),
    }
    for p in &check.plans {
        println!(
            "  \"{}\" ({}): {} change(s), {} participant(s), {} snapshot(s), {} change author(s){}",
            p.title,
            p.id,
            p.changes,
            p.participants,
            p.snapshots,
            p.authors,
            if p.problems.is_empty() {
                ""
            } else {
                ": DAMAGED"
            }
        );
    }
    let problems = check.problems();
    anyhow::ensure!(
        problems.is_empty(),
        "{} failed its check:\n  {}\nRestore the latest good backup (plansync restore).",
        location.describe(),
        problems.join("\n  ")
    );
    println!("OK: {} plan(s), every one loads.", check.plans.len());
    Ok(())
}

/// A size in bytes as people read it.
fn size(bytes: u64) -> String {
    if bytes >= 10 << 20 {
        format!("{} MB", bytes >> 20)
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}
