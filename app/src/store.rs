//! The browser's own copy of every plan it has opened, in IndexedDB: each document as the
//! automerge chunks the sync core asked us to persist, and a short entry per plan for the
//! plan list. Everything the user types is stored here before anything else happens to it.

use crate::api::PlanEntry;
use plansync_shared::automerge::AutoCommit;
use plansync_shared::{DocumentId, Plan, PLAN_SHAPE};
use rexie::{KeyRange, ObjectStore, Rexie, TransactionMode};
use std::rc::Rc;
use wasm_bindgen::JsValue;

const DB_NAME: &str = "plansync";
const CHUNKS: &str = "chunks";
const PLANS: &str = "plans";
/// Each plan's typed values as last read, with the heads they were read at, so a plan opens
/// before its document is loaded.
const VIEWS: &str = "views";
/// A document stored as more chunks than this is rewritten as one on the next open.
const COMPACT_AFTER: usize = 64;

/// The browser's plan store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Rc<Rexie>,
}

/// A failure of the browser's storage, as a sentence for the user.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreError(pub String);

impl From<rexie::Error> for StoreError {
    fn from(e: rexie::Error) -> Self {
        StoreError(format!(
            "This browser could not save the plan ({e}). Keep this page open and free some disk space."
        ))
    }
}

fn key(doc: &DocumentId, seq: f64) -> JsValue {
    JsValue::from_str(&format!("{doc}/{seq:020.0}"))
}

fn doc_range(doc: &DocumentId) -> Result<KeyRange, StoreError> {
    Ok(KeyRange::bound(
        &JsValue::from_str(&format!("{doc}/")),
        &JsValue::from_str(&format!("{doc}/~")),
        Some(false),
        Some(false),
    )
    .map_err(rexie::Error::from)?)
}

/// A key that sorts after every earlier one written by this browser.
fn next_seq() -> f64 {
    thread_local!(static LAST: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) });
    LAST.with(|last| {
        let seq = (js_sys::Date::now() * 1000.0).max(last.get() + 1.0);
        last.set(seq);
        seq
    })
}

impl Store {
    /// Opens (or creates) the browser's plan store.
    pub async fn open() -> Result<Self, StoreError> {
        let db = Rexie::builder(DB_NAME)
            .version(2)
            .add_object_store(ObjectStore::new(CHUNKS))
            .add_object_store(ObjectStore::new(PLANS))
            .add_object_store(ObjectStore::new(VIEWS))
            .build()
            .await?;
        Ok(Self { db: Rc::new(db) })
    }

    /// Appends automerge chunks (changes or whole documents) to their plans' records, in
    /// order, in one transaction: all are stored or none is. A plan's chunks go as one
    /// record (automerge reads chunks one after another as it reads one).
    pub async fn append_all(&self, chunks: &[(&DocumentId, &[u8])]) -> Result<(), StoreError> {
        let mut records: Vec<(&DocumentId, Vec<u8>)> = Vec::new();
        for (doc, bytes) in chunks {
            match records.iter_mut().find(|(d, _)| d == doc) {
                Some((_, record)) => record.extend_from_slice(bytes),
                None => records.push((doc, bytes.to_vec())),
            }
        }
        let tx = self.db.transaction(&[CHUNKS], TransactionMode::ReadWrite)?;
        let store = tx.store(CHUNKS)?;
        for (doc, bytes) in records {
            let value = js_sys::Uint8Array::from(&bytes[..]);
            store.put(&value, Some(&key(doc, next_seq()))).await?;
        }
        tx.done().await?;
        Ok(())
    }

    /// Loads a plan's document, or `None` if this browser has never stored it. Many chunks
    /// are compacted into one, in the same transaction that removes them.
    pub async fn load(&self, doc: &DocumentId) -> Result<Option<AutoCommit>, StoreError> {
        let tx = self.db.transaction(&[CHUNKS], TransactionMode::ReadWrite)?;
        let store = tx.store(CHUNKS)?;
        let chunks = store.scan(Some(doc_range(doc)?), None, None, None).await?;
        if chunks.is_empty() {
            tx.done().await?;
            return Ok(None);
        }
        let mut bytes = Vec::new();
        for (_, value) in &chunks {
            bytes.extend(js_sys::Uint8Array::new(value).to_vec());
        }
        let started = crate::perf::now();
        let loaded = AutoCommit::load(&bytes);
        crate::perf::record("open-load", started);
        let mut loaded = loaded.map_err(|e| {
            StoreError(format!(
                "This browser's copy of the plan could not be read ({e}); it will be fetched from the server again."
            ))
        })?;
        if chunks.len() > COMPACT_AFTER {
            let whole = loaded.save();
            for (k, _) in &chunks {
                store.delete(k.clone()).await?;
            }
            store
                .put(
                    &js_sys::Uint8Array::from(&whole[..]),
                    Some(&key(doc, next_seq())),
                )
                .await?;
        }
        tx.done().await?;
        Ok(Some(loaded))
    }

    /// Keeps a plan's typed values (a [`view_record`]), replacing those kept before.
    pub async fn save_view(&self, doc: &DocumentId, record: &[u8]) -> Result<(), StoreError> {
        let tx = self.db.transaction(&[VIEWS], TransactionMode::ReadWrite)?;
        let store = tx.store(VIEWS)?;
        store
            .put(
                &js_sys::Uint8Array::from(record),
                Some(&JsValue::from_str(&doc.to_string())),
            )
            .await?;
        tx.done().await?;
        Ok(())
    }

    /// A plan's typed values as kept by [`Store::save_view`], with the heads they were read
    /// at; `None` if none are kept, or they were kept by a version of the app whose plan had
    /// another shape.
    pub async fn load_view(&self, doc: &DocumentId) -> Option<(Vec<String>, Plan)> {
        let tx = self
            .db
            .transaction(&[VIEWS], TransactionMode::ReadOnly)
            .ok()?;
        let value = tx
            .store(VIEWS)
            .ok()?
            .get(JsValue::from_str(&doc.to_string()))
            .await
            .ok()??;
        let _ = tx.done().await;
        let bytes = js_sys::Uint8Array::new(&value).to_vec();
        let (shape, heads, plan): (u64, Vec<String>, Plan) =
            ciborium::from_reader(&bytes[..]).ok()?;
        (shape == PLAN_SHAPE).then_some((heads, plan))
    }

    /// Remembers a plan for the plan list.
    pub async fn remember(&self, entry: &PlanEntry) -> Result<(), StoreError> {
        let tx = self.db.transaction(&[PLANS], TransactionMode::ReadWrite)?;
        let store = tx.store(PLANS)?;
        let json = serde_json::to_string(entry).unwrap_or_default();
        store
            .put(
                &JsValue::from_str(&json),
                Some(&JsValue::from_str(&entry.id)),
            )
            .await?;
        tx.done().await?;
        Ok(())
    }

    /// The plans this browser keeps.
    pub async fn plans(&self) -> Result<Vec<PlanEntry>, StoreError> {
        let tx = self.db.transaction(&[PLANS], TransactionMode::ReadOnly)?;
        let store = tx.store(PLANS)?;
        let all = store.get_all(None, None).await?;
        tx.done().await?;
        Ok(all
            .into_iter()
            .filter_map(|v| serde_json::from_str(&v.as_string()?).ok())
            .collect())
    }
}

/// A plan's typed values as read at `heads` (hex), as [`Store::save_view`] keeps them.
pub fn view_record(heads: &[String], plan: &Plan) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    ciborium::into_writer(&(PLAN_SHAPE, heads, plan), &mut bytes).ok()?;
    Some(bytes)
}
