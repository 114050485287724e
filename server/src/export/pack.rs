//! The Board pack: one paper for the Board's meeting. A cover (plan, period, meeting), the
//! plan at a glance (RAG by theme and by board as bars with their counts, direction of
//! travel, exceptions, indicators out of tolerance), each board's section (its sign-off and
//! its exceptions with their latest updates), each indicator out of tolerance with its
//! chart, and what changed since the last round. Built from the same parts as the other
//! papers; the PDF writer draws the charts, the other formats print their words.

use super::blocks::{Block, Cell, Drawing, Figure, Inline};
use super::reports::{changes, exception_actions, header, out_of_tolerance, sign_off_lines};
use super::Options;
use plansync_shared::{
    indicator_travel, long_date, round_line, round_progress, summary, Counts, Direction, Plan, Rag,
};

/// The RAG counts of a theme or board as a bar with its words.
fn rag_bar(label: &str, counts: &Counts) -> Block {
    let rag = counts.rag;
    let words = Rag::ALL
        .iter()
        .map(|r| format!("{} {}", rag.get(*r), r.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    Block::Figure(Figure {
        alt: format!("{label}: {words}"),
        drawing: Drawing::RagBar {
            label: label.to_string(),
            counts: Rag::ALL.iter().map(|r| (*r, rag.get(*r))).collect(),
        },
    })
}

/// The Board pack for the paper's period.
pub fn board_pack(plan: &Plan, opts: &Options) -> Vec<Block> {
    let body = if plan.owning_body.is_empty() {
        plan.title.clone()
    } else {
        plan.owning_body.clone()
    };
    let mut out = header(format!("Board pack: {body}, {}", opts.period), plan, opts);
    let round = plan.rounds.iter().rfind(|r| r.period == opts.period);
    match round {
        Some(r) => {
            if let Some(m) = &r.meeting {
                out.push(Block::Para(vec![
                    Inline::Strong("For the meeting on ".into()),
                    Inline::Text(long_date(m)),
                ]));
            }
            out.push(Block::para(round_line(r, &round_progress(plan, r))));
        }
        None => out.push(Block::para(format!(
            "No reporting round was opened for {}.",
            opts.period
        ))),
    }

    let today = opts.made.get(..10).unwrap_or(&opts.made);
    let glance = summary(plan, opts.period, today, None);
    out.push(Block::Heading(2, "The plan at a glance".into()));
    let all = &glance.all;
    out.push(Block::para(format!(
        "{} actions in {}: {} exceptions (red, amber or worsening), {} overdue, {} indicators out of tolerance.",
        all.rag.total(),
        opts.period,
        all.exceptions,
        all.overdue,
        glance.indicators_out.len()
    )));
    out.push(Block::Heading(3, "RAG by theme".into()));
    out.extend(glance.themes.iter().map(|g| rag_bar(&g.name, &g.counts)));
    out.push(Block::Heading(3, "RAG by board".into()));
    out.push(Block::para(
        "An action counts for its lead board and for each board that contributes to it.",
    ));
    out.extend(glance.boards.iter().map(|g| rag_bar(&g.name, &g.counts)));
    out.push(Block::Heading(3, "Direction of travel".into()));
    out.push(Block::Table {
        header: ["Improving", "Unchanged", "Worsening", "Not known"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        rows: vec![vec![
            Cell::text(all.travel.get(Some(Direction::Improving)).to_string()),
            Cell::text(all.travel.get(Some(Direction::Unchanged)).to_string()),
            Cell::text(all.travel.get(Some(Direction::Worsening)).to_string()),
            Cell::text(all.travel.not_known.to_string()),
        ]],
    });

    for b in &plan.boards {
        out.push(Block::Heading(2, b.name.clone()));
        let board = Options {
            board: Some(b.id.clone()),
            ..opts.clone()
        };
        // The sign-off lines come under a heading of their own in a paper; here, the board's
        // heading is enough.
        out.extend(
            sign_off_lines(plan, &board)
                .into_iter()
                .filter(|x| !matches!(x, Block::Heading(..))),
        );
        out.extend(exception_actions(plan, &board, 3));
    }

    out.push(Block::Heading(2, "Indicators out of tolerance".into()));
    let out_of = out_of_tolerance(plan, &glance);
    if out_of.is_empty() {
        out.push(Block::para("No indicator is out of tolerance this period."));
    }
    for i in out_of {
        out.push(Block::Heading(3, i.name.clone()));
        let points: Vec<(String, f64)> = i
            .values
            .iter()
            .filter(|(p, _)| **p <= opts.period)
            .map(|(p, v)| (p.to_string(), *v))
            .collect();
        let points = points[points.len().saturating_sub(8)..].to_vec();
        let words = points
            .iter()
            .map(|(p, v)| format!("{p}: {v}"))
            .collect::<Vec<_>>()
            .join("; ");
        out.push(Block::Figure(Figure {
            alt: format!(
                "{} ({}, {}) by quarter: {words}. Target {} with a tolerance of {}; {}.",
                i.name,
                i.unit,
                i.polarity,
                i.target,
                i.tolerance,
                indicator_travel(i, opts.period).describe()
            ),
            drawing: Drawing::Values {
                points,
                target: i.target,
                tolerance: i.tolerance,
            },
        }));
    }

    match &opts.older {
        Some((older, label)) => {
            out.push(Block::Heading(2, format!("What changed since {label}")));
            out.extend(changes(older, plan, 3));
        }
        None => {
            out.push(Block::Heading(
                2,
                "What changed since the last round".into(),
            ));
            out.push(Block::para(
                "There is no earlier version to compare with: this is the plan's first Board pack.",
            ));
        }
    }
    out
}
