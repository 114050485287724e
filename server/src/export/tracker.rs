//! The action tracker: its columns and one row per action, for the spreadsheet, HTML and
//! Word forms.

use super::blocks::{Block, Cell};
use super::reports::{actions_with_place, header, latest_update};
use super::Options;
use plansync_shared::{action_travel, Plan, Rag};

/// The tracker's columns, in order.
pub const TRACKER_COLUMNS: [&str; 13] = [
    "Theme",
    "Objective",
    "Action",
    "Lead board",
    "Contributing boards",
    "Lead",
    "Agency",
    "Due",
    "Progress",
    "RAG",
    "Direction of travel",
    "Latest progress update",
    "Id",
];

/// One row of the action tracker.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerRow {
    /// The cells, in [`TRACKER_COLUMNS`] order.
    pub cells: Vec<String>,
    /// The RAG this period (for colouring).
    pub rag: Option<Rag>,
}

/// The action tracker: one row per action, in plan order.
pub fn tracker_rows(plan: &Plan, opts: &Options) -> Vec<TrackerRow> {
    actions_with_place(plan)
        .map(|(t, o, a)| {
            let rag = a.rag.get(&opts.period).copied();
            TrackerRow {
                cells: vec![
                    t.title.clone(),
                    o.text.clone(),
                    a.title.clone(),
                    plan.board_name(a.lead_board.as_ref()),
                    plan.board_names(&a.contributing_boards, "; "),
                    plan.person_name(a.lead.as_ref()),
                    plan.agency_of(a.lead.as_ref()),
                    a.due.clone().unwrap_or_default(),
                    a.state.to_string(),
                    rag.unwrap_or(Rag::NotRated).to_string(),
                    action_travel(a, opts.period).describe(),
                    latest_update(a),
                    a.id.to_string(),
                ],
                rag,
            }
        })
        .collect()
}

/// The tracker as one table (for the HTML and Word forms).
pub fn tracker_blocks(plan: &Plan, opts: &Options) -> Vec<Block> {
    let mut out = header("Action tracker".into(), plan, opts);
    out.push(Block::Table {
        header: TRACKER_COLUMNS.iter().map(|s| s.to_string()).collect(),
        rows: tracker_rows(plan, opts)
            .into_iter()
            .map(|r| {
                r.cells
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| {
                        if i == 9 {
                            Cell::rag(r.rag)
                        } else {
                            Cell::text(c)
                        }
                    })
                    .collect()
            })
            .collect(),
    });
    out
}
