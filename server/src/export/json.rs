//! Full JSON: the whole plan, versioned (schema in `EXPORTS.md` at the repository root).

use super::{ExportError, Options};
use plansync_shared::Plan;
use serde::{Deserialize, Serialize};
use std::io::Write;

/// The value of `format` in every Plansync JSON file.
pub const JSON_FORMAT: &str = "plansync-plan";
/// The JSON schema version this server writes and reads.
pub const JSON_VERSION: u32 = 1;

/// A Plansync JSON file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanFile {
    /// Always [`JSON_FORMAT`].
    pub format: String,
    /// The schema version, [`JSON_VERSION`].
    pub version: u32,
    /// Which version of the plan ("now" or a snapshot's name).
    #[serde(default)]
    pub of: String,
    /// When it was made.
    #[serde(default)]
    pub made: String,
    /// The plan.
    pub plan: Plan,
}

/// Writes the plan as a JSON file.
pub fn write(plan: &Plan, opts: &Options, out: &mut dyn Write) -> Result<(), ExportError> {
    let file = PlanFile {
        format: JSON_FORMAT.into(),
        version: JSON_VERSION,
        of: opts.version.clone(),
        made: opts.made.clone(),
        plan: plan.clone(),
    };
    serde_json::to_writer_pretty(&mut *out, &file)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Reads a JSON file written by [`write`]; the error says what is wrong in words.
pub fn plan_from_json(bytes: &[u8]) -> Result<Plan, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("the file is not JSON ({e})"))?;
    match value.get("format").and_then(|f| f.as_str()) {
        Some(JSON_FORMAT) => {}
        _ => {
            return Err(format!(
                "the file is not a Plansync plan (its \"format\" is not \"{JSON_FORMAT}\")"
            ))
        }
    }
    match value.get("version").and_then(|v| v.as_u64()) {
        Some(v) if v == JSON_VERSION as u64 => {}
        Some(v) => {
            return Err(format!(
                "the file is schema version {v}; this server reads version {JSON_VERSION}"
            ))
        }
        None => return Err("the file has no schema \"version\"".into()),
    }
    let file: PlanFile = serde_json::from_value(value)
        .map_err(|e| format!("the plan in the file is not complete or not valid: {e}"))?;
    Ok(file.plan)
}
