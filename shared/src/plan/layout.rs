//! What marks a document as a plan, and the small readers of its layout that writing and
//! reading share (the layout is written down in `shared/LAYOUT.md`).

use crate::Result;
use automerge::{ObjId, ReadDoc, Value};

/// The layout version written at the root under `schema`; its presence marks a plan.
pub const SCHEMA: i64 = 1;

/// The map object at `key` of `parent`, if there is one.
pub(crate) fn get_obj(doc: &impl ReadDoc, parent: &ObjId, key: &str) -> Result<Option<ObjId>> {
    Ok(match doc.get(parent, key)? {
        Some((Value::Object(_), id)) => Some(id),
        _ => None,
    })
}

/// The string at `index` of a list, if it is one.
pub(crate) fn list_str(doc: &impl ReadDoc, list: &ObjId, index: usize) -> Option<String> {
    match doc.get(list, index) {
        Ok(Some((Value::Scalar(s), _))) => s.as_str().map(str::to_string),
        _ => None,
    }
}
