//! What each paper says, as blocks: the plan document, the exception report, the workshop
//! outputs and the comparison (the action tracker is in [`super::tracker`]).

use super::blocks::{Block, Cell, Inline};
use super::Options;
use plansync_shared::{
    action_travel, board_takes_part, compare, indicator_travel, is_exception, latest_sign_offs,
    summary, Action, Change, Counts, Indicator, Objective, Plan, ProgressUpdate, Summary, Theme,
    WordChange,
};

pub(super) fn header(title: String, plan: &Plan, opts: &Options) -> Vec<Block> {
    vec![
        Block::Heading(1, title),
        Block::Para(vec![
            Inline::Strong(plan.title.clone()),
            Inline::Text(format!(
                " · {} · {} · stage: {}",
                plan.area,
                plan.years(),
                plan.stage
            )),
        ]),
        Block::Para(vec![Inline::Text(format!(
            "Version: {} · reporting period {} · made {}",
            opts.version, opts.period, opts.made
        ))]),
    ]
}

fn action_cells(a: &Action, plan: &Plan, opts: &Options) -> Vec<Cell> {
    let travel = action_travel(a, opts.period);
    vec![
        Cell::text(a.title.clone()),
        Cell::text(plan.board_name(a.lead_board.as_ref())),
        Cell::text(plan.person_name(a.lead.as_ref())),
        Cell::text(a.due.clone().unwrap_or_default()),
        Cell::rag(a.rag.get(&opts.period).copied()),
        Cell::text(travel.describe()),
    ]
}

const ACTION_HEADER: [&str; 6] = [
    "Action",
    "Lead board",
    "Lead",
    "Due",
    "RAG",
    "Direction of travel",
];

/// Where a board's return for the paper's period stands: its chair's latest sign-off in
/// each round for that period ("Signed off by Chair, ..., 14 January 2027", marked if it
/// changed since), or that it is not signed off. For the whole partnership, every board.
pub(super) fn sign_off_lines(plan: &Plan, opts: &Options) -> Vec<Block> {
    let rounds: Vec<_> = plan
        .rounds
        .iter()
        .filter(|r| r.period == opts.period)
        .collect();
    if rounds.is_empty() {
        return Vec::new();
    }
    let boards: Vec<_> = plan
        .boards
        .iter()
        .filter(|b| opts.board.as_ref().is_none_or(|x| x == &b.id))
        .collect();
    let mut lines = Vec::new();
    for b in boards {
        let signed = rounds
            .iter()
            .flat_map(|r| latest_sign_offs(&opts.sign_offs, &r.id))
            .filter(|s| s.board == b.id)
            .max_by_key(|s| s.signed_ms);
        lines.push(match signed {
            Some(s) => s.line(),
            None => format!("{}: not signed off for {}", b.name, opts.period),
        });
    }
    vec![Block::Heading(2, "Sign-off".into()), Block::List(lines)]
}

/// The plan document: headings per theme, aim and shared outcomes, a table of actions per
/// objective, then the indicators.
pub fn plan_document(plan: &Plan, opts: &Options) -> Vec<Block> {
    let mut out = header(plan.title.clone(), plan, opts);
    if !plan.owning_body.is_empty() {
        out.push(Block::labelled("Owning body", plan.owning_body.clone()));
    }
    for t in &plan.themes {
        out.push(Block::Heading(2, t.title.clone()));
        if !t.aim.is_empty() {
            out.push(Block::labelled("Aim", t.aim.clone()));
        }
        if t.lead.is_some() {
            out.push(Block::labelled(
                "Theme lead",
                plan.person_name(t.lead.as_ref()),
            ));
        }
        if !t.outcomes.is_empty() {
            out.push(Block::Para(vec![Inline::Strong("Shared outcomes".into())]));
            out.push(Block::List(t.outcomes.clone()));
        }
        for o in &t.objectives {
            out.push(Block::Heading(3, o.text.clone()));
            if o.actions.is_empty() {
                out.push(Block::para("No actions yet."));
                continue;
            }
            out.push(Block::Table {
                header: ACTION_HEADER.iter().map(|s| s.to_string()).collect(),
                rows: o
                    .actions
                    .iter()
                    .map(|a| action_cells(a, plan, opts))
                    .collect(),
            });
        }
    }
    if !plan.indicators.is_empty() {
        out.push(Block::Heading(2, "Indicators".into()));
        out.push(Block::Table {
            header: [
                "Indicator",
                "Unit",
                "Polarity",
                "Target",
                "Tolerance",
                "This period",
                "Direction of travel",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            rows: plan
                .indicators
                .iter()
                .map(|i| {
                    vec![
                        Cell::text(i.name.clone()),
                        Cell::text(i.unit.clone()),
                        Cell::text(i.polarity.to_string()),
                        Cell::text(i.target.to_string()),
                        Cell::text(i.tolerance.to_string()),
                        Cell::text(
                            i.values
                                .get(&opts.period)
                                .map(|v| v.to_string())
                                .unwrap_or_default(),
                        ),
                        Cell::text(indicator_travel(i, opts.period).describe()),
                    ]
                })
                .collect(),
        });
    }
    out
}

pub(super) fn actions_with_place(
    plan: &Plan,
) -> impl Iterator<Item = (&Theme, &Objective, &Action)> {
    plan.themes.iter().flat_map(|t| {
        t.objectives
            .iter()
            .flat_map(move |o| o.actions.iter().map(move |a| (t, o, a)))
    })
}

/// The quarterly exception report: the counts a board reads first (red, amber and
/// worsening by theme; indicators out of tolerance), then the actions the board leads or
/// contributes to that are red, amber or worsening, and the indicators out of tolerance, each
/// with its latest progress update.
pub fn exceptions(plan: &Plan, opts: &Options) -> Vec<Block> {
    let board_name = opts
        .board
        .as_ref()
        .map(|b| plan.board_name(Some(b)))
        .unwrap_or_else(|| "the whole partnership".into());
    let mut out = header(
        format!("Exception report: {board_name}, {}", opts.period),
        plan,
        opts,
    );
    out.extend(sign_off_lines(plan, opts));
    let today = opts.made.get(..10).unwrap_or(&opts.made);
    let glance = summary(plan, opts.period, today, opts.board.as_ref());
    out.push(Block::Heading(2, "Summary".into()));
    let row = |name: String, c: &Counts| {
        vec![
            Cell::text(name),
            Cell::text(c.rag.red.to_string()),
            Cell::text(c.rag.amber.to_string()),
            Cell::text(c.travel.worsening.to_string()),
            Cell::text(c.rag.total().to_string()),
        ]
    };
    let mut rows: Vec<Vec<Cell>> = glance
        .themes
        .iter()
        .map(|g| row(g.name.clone(), &g.counts))
        .collect();
    rows.push(row("All themes".into(), &glance.all));
    out.push(Block::Table {
        header: ["Theme", "Red", "Amber", "Worsening", "Actions"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        rows,
    });
    out.push(Block::para(format!(
        "Indicators out of tolerance: {}.",
        glance.indicators_out.len()
    )));
    out.extend(exception_actions(plan, opts, 2));
    out.push(Block::Heading(2, "Indicators out of tolerance".into()));
    let out_of = out_of_tolerance(plan, &glance);
    if out_of.is_empty() {
        out.push(Block::para("No indicator is out of tolerance this period."));
    } else {
        out.push(Block::Table {
            header: [
                "Indicator",
                "This period",
                "Target",
                "Tolerance",
                "Direction of travel",
                "Latest progress update",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            rows: out_of
                .iter()
                .map(|i| {
                    let update = actions_with_place(plan)
                        .filter(|(_, _, a)| a.indicator.as_ref() == Some(&i.id))
                        .filter_map(|(_, _, a)| a.latest_update())
                        .max_by(|x, y| x.date.cmp(&y.date))
                        .map(update_line)
                        .unwrap_or_default();
                    vec![
                        Cell::text(i.name.clone()),
                        Cell::text(format!(
                            "{} {}",
                            i.values.get(&opts.period).copied().unwrap_or_default(),
                            i.unit
                        )),
                        Cell::text(i.target.to_string()),
                        Cell::text(i.tolerance.to_string()),
                        Cell::text(indicator_travel(i, opts.period).describe()),
                        Cell::text(update),
                    ]
                })
                .collect(),
        });
    }
    out
}

/// The actions of the paper's board (or all) that are exceptions this period, with their
/// latest progress update, under a heading at `level`.
pub(super) fn exception_actions(plan: &Plan, opts: &Options, level: u8) -> Vec<Block> {
    let for_board = |a: &Action| opts.board.as_ref().is_none_or(|b| board_takes_part(a, b));
    let mut out = Vec::new();
    let selected: Vec<_> = actions_with_place(plan)
        .filter(|(_, _, a)| for_board(a) && is_exception(a, opts.period))
        .collect();
    out.push(Block::Heading(level, "Actions by exception".into()));
    if selected.is_empty() {
        out.push(Block::para(
            "No action this board leads or contributes to is red, amber or worsening.",
        ));
    } else {
        let mut header: Vec<String> = ACTION_HEADER.iter().map(|s| s.to_string()).collect();
        header.insert(1, "Theme".into());
        // Whether the board leads or contributes: only a board's report has a board.
        if opts.board.is_some() {
            header.push("Board's part".into());
        }
        header.push("Latest progress update".into());
        out.push(Block::Table {
            header,
            rows: selected
                .iter()
                .map(|(t, _, a)| {
                    let mut cells = action_cells(a, plan, opts);
                    cells.insert(1, Cell::text(t.title.clone()));
                    if let Some(b) = &opts.board {
                        let part = if a.lead_board.as_ref() == Some(b) {
                            "leads"
                        } else {
                            "contributes"
                        };
                        cells.push(Cell::text(part));
                    }
                    cells.push(Cell::text(latest_update(a)));
                    cells
                })
                .collect(),
        });
    }
    out
}

/// The plan's indicators that the summary counts out of tolerance, in plan order.
pub(super) fn out_of_tolerance<'p>(plan: &'p Plan, glance: &Summary) -> Vec<&'p Indicator> {
    plan.indicators
        .iter()
        .filter(|i| glance.indicators_out.contains(&i.id))
        .collect()
}

/// A progress update as one line: "date (author, agency (how known)): text".
fn update_line(u: &ProgressUpdate) -> String {
    format!("{} ({}): {}", u.date, u.by(), u.text)
}

/// The latest progress update of an action, as one line.
pub fn latest_update(a: &Action) -> String {
    a.latest_update().map(update_line).unwrap_or_default()
}

/// The workshop outputs: per objective, the decision, working group, proposed wording and
/// comments.
pub fn workshop(plan: &Plan, opts: &Options) -> Vec<Block> {
    let mut out = header("Workshop outputs".into(), plan, opts);
    let tally = plansync_shared::workshop_tally(plan);
    out.push(Block::para(format!(
        "{} of {} objectives decided, {} undecided.",
        tally.decided,
        tally.decided + tally.undecided,
        tally.undecided
    )));
    out.push(Block::List(
        tally
            .by_decision
            .iter()
            .map(|(d, n)| format!("{d}: {n}"))
            .chain(
                tally
                    .by_group
                    .iter()
                    .map(|(g, decided, all)| format!("{g}: {decided} of {all} decided")),
            )
            .collect(),
    ));
    for t in &plan.themes {
        out.push(Block::Heading(2, t.title.clone()));
        for o in &t.objectives {
            out.push(Block::Heading(3, o.text.clone()));
            out.push(Block::labelled("Decision", o.review.decision.to_string()));
            out.push(Block::labelled("Working group", o.review.group.clone()));
            out.push(Block::labelled(
                "Proposed wording",
                o.review.proposed.clone(),
            ));
            out.push(Block::labelled("Comments", o.review.comments.clone()));
            let threads: Vec<String> = plan
                .comments
                .iter()
                .filter(|c| c.target == plansync_shared::CommentTarget::Objective(o.id.clone()))
                .map(|c| {
                    format!(
                        "{} ({}){}: {}",
                        c.by(),
                        c.date,
                        if c.resolved { ", resolved" } else { "" },
                        c.text
                    )
                })
                .collect();
            if !threads.is_empty() {
                out.push(Block::List(threads));
            }
        }
    }
    out
}

/// What changed from `opts.older` to `plan`, grouped by theme, with reworded text marked.
pub fn comparison(plan: &Plan, opts: &Options) -> Vec<Block> {
    let (older, label) = match &opts.older {
        Some((p, l)) => (p, l.as_str()),
        None => (plan, opts.version.as_str()),
    };
    let mut out = header(
        format!("Changes from {label} to {}", opts.version),
        plan,
        opts,
    );
    out.extend(changes(older, plan, 2));
    out
}

/// What changed from `older` to `plan`, by theme under headings at `level`, reworded words
/// marked.
pub(super) fn changes(older: &Plan, plan: &Plan, level: u8) -> Vec<Block> {
    let mut out = Vec::new();
    let diffs = compare(older, plan);
    if diffs.is_empty() {
        out.push(Block::para("Nothing changed."));
        return out;
    }
    let mut theme: Option<&str> = None;
    for d in &diffs {
        if theme != Some(d.theme.as_str()) {
            theme = Some(d.theme.as_str());
            let title = if d.theme.is_empty() {
                "The plan, indicators and milestones".to_string()
            } else {
                d.theme.clone()
            };
            out.push(Block::Heading(level, title));
        }
        match &d.change {
            Change::Reworded { field, words } => {
                let mut inlines = vec![Inline::Strong(format!(
                    "{} '{}', {field} reworded: ",
                    d.kind.word(),
                    d.name
                ))];
                inlines.extend(words.iter().map(|w| match w.change {
                    WordChange::Same => Inline::Text(w.text.clone()),
                    WordChange::Added => Inline::Added(w.text.clone()),
                    WordChange::Removed => Inline::Removed(w.text.clone()),
                }));
                out.push(Block::Para(inlines));
            }
            _ => out.push(Block::para(d.describe())),
        }
    }
    out
}
