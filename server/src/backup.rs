//! Backups and checks (`plansync backup`, `restore` and `check`): what a check finds in a
//! database or a backup, plan by plan.

use crate::store::sqlite::backup::{check_copy, remove_database, FileCheck};
use crate::store::{Location, Sqlite, Store, StoreError};
use plansync_shared::automerge::AutoCommit;
use plansync_shared::{DocumentId, PlanDoc};
use std::sync::Arc;

pub use crate::store::sqlite::backup::{backup, restore, Restored};

/// What a check found in one plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanCheck {
    /// The plan's id.
    pub id: String,
    /// Its title as the plans list has it.
    pub title: String,
    /// Changes in its document.
    pub changes: usize,
    /// Participants, revoked ones included.
    pub participants: usize,
    /// Named snapshots.
    pub snapshots: usize,
    /// Changes with a recorded author.
    pub authors: usize,
    /// What is wrong with it (empty when it loads whole).
    pub problems: Vec<String>,
}

/// What a check of a database or backup found.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// The file's page-by-page check (SQLite only).
    pub file: Option<FileCheck>,
    /// The schema version it has and the one this build knows.
    pub schema: (usize, usize),
    /// Each plan.
    pub plans: Vec<PlanCheck>,
}

impl Check {
    /// Whether nothing is wrong.
    pub fn ok(&self) -> bool {
        self.problems().is_empty()
    }

    /// Everything wrong, each as a sentence.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(f) = &self.file {
            out.extend(
                f.problems
                    .iter()
                    .map(|p| format!("the file is damaged: {p}")),
            );
        }
        if self.schema.0 > self.schema.1 {
            out.push(format!(
                "its schema is version {}, newer than this Plansync knows ({}): check it with a newer Plansync",
                self.schema.0, self.schema.1
            ));
        }
        for p in &self.plans {
            out.extend(
                p.problems
                    .iter()
                    .map(|e| format!("\"{}\" ({}): {e}", p.title, p.id)),
            );
        }
        out
    }
}

/// Checks the database or backup at `location`: every page (SQLite), the schema, and that
/// every plan loads with its participants, snapshots and change authors. An SQLite file is
/// checked on a consistent copy, so a running server is neither stopped nor changed and an
/// older backup is migrated only in the copy.
pub async fn check(location: &Location) -> Result<Check, StoreError> {
    match location {
        Location::Sqlite(path) => {
            let path = path.clone();
            let (file, copy) = tokio::task::spawn_blocking(move || check_copy(&path))
                .await
                .map_err(|e| StoreError::Task(e.to_string()))??;
            let result = async {
                if file.schema > file.knows || !file.problems.is_empty() {
                    return Ok(Check {
                        schema: (file.schema, file.knows),
                        file: Some(file),
                        plans: Vec::new(),
                    });
                }
                let store: Store = Arc::new(Sqlite::open(&copy).await?);
                let plans = check_plans(&store).await?;
                Ok(Check {
                    schema: (file.schema, file.knows),
                    file: Some(file),
                    plans,
                })
            }
            .await;
            remove_database(&copy);
            result
        }
        Location::Postgres(_) => {
            let store = crate::store::open(location).await?;
            let schema = store.schema().await?;
            let plans = check_plans(&store).await?;
            Ok(Check {
                file: None,
                schema,
                plans,
            })
        }
    }
}

/// Loads every plan of `store` and counts what it holds.
pub async fn check_plans(store: &Store) -> Result<Vec<PlanCheck>, StoreError> {
    let mut out = Vec::new();
    for row in store.plans().await? {
        let mut problems = Vec::new();
        let mut changes = 0;
        let snapshots = store.snapshots(row.id.clone()).await?;
        match row.id.parse::<DocumentId>() {
            Err(e) => problems.push(format!("its id is not a document id ({e})")),
            Ok(doc) => match store.load(doc).await? {
                None => problems.push("no document is stored for it".into()),
                Some(stored) => {
                    let loaded = tokio::task::spawn_blocking(move || load(&stored.bytes))
                        .await
                        .map_err(|e| StoreError::Task(e.to_string()))?;
                    match loaded {
                        Err(e) => problems.push(e),
                        Ok(mut doc) => {
                            changes = doc.get_changes(&[]).len();
                            for s in &snapshots {
                                let held = crate::parse_heads(&s.heads).is_some_and(|heads| {
                                    heads.iter().all(|h| doc.get_change_by_hash(h).is_some())
                                });
                                if !held {
                                    problems.push(format!(
                                        "its snapshot \"{}\" names a version the plan does not hold",
                                        s.name
                                    ));
                                }
                            }
                        }
                    }
                }
            },
        }
        out.push(PlanCheck {
            participants: store.participants(row.id.clone()).await?.len(),
            authors: store.change_authors(row.id.clone()).await?.len(),
            snapshots: snapshots.len(),
            id: row.id,
            title: row.title,
            changes,
            problems,
        });
    }
    Ok(out)
}

/// Loads a plan's stored bytes and reads it whole, saying what failed.
fn load(bytes: &[u8]) -> Result<AutoCommit, String> {
    let doc = AutoCommit::load(bytes).map_err(|e| format!("its document does not load ({e})"))?;
    let plan =
        PlanDoc::from_automerge(doc).map_err(|e| format!("its document is not a plan ({e})"))?;
    plan.read()
        .map_err(|e| format!("its plan does not read ({e})"))?;
    Ok(plan.into_automerge())
}
