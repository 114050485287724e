//! Every export read back with an independent reader (csv, calamine, the unzipped XML of the
//! Word file, the HTML and Markdown text) and compared with the plan.

use super::*;
use plansync_shared::{
    action_travel, demo_plan, out_of_tolerance, Direction, DirectionOverride, PlanDoc, Quarter,
    Rag, TravelItem,
};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::io::Read;

const Q2: ReportingPeriod = ReportingPeriod {
    year: 2026,
    quarter: Quarter::Q2,
};

fn demo() -> (PlanDoc, Plan) {
    let mut r = StdRng::seed_from_u64(77);
    let mut doc = demo_plan(&mut r).unwrap();
    let a = doc.read().unwrap().themes[0].objectives[0].actions[1]
        .id
        .clone();
    doc.set_direction_override(
        &TravelItem::Action(a),
        Q2,
        Some(&DirectionOverride {
            direction: Direction::Worsening,
            reason: "Referrals <doubled> & waits grew".into(),
            by: "Inspector, Riverton Police".into(),
        }),
    )
    .unwrap();
    doc.commit();
    let plan = doc.read().unwrap();
    (doc, plan)
}

fn opts(board: Option<BoardId>) -> Options {
    Options {
        period: Q2,
        board,
        version: "now".into(),
        older: None,
        made: "2026-11-23 10:00 UTC".into(),
        sign_offs: Vec::new(),
    }
}

fn make(name: &str, plan: &Plan, saved: Option<&[u8]>, o: &Options) -> Vec<u8> {
    let mut out = Vec::new();
    write(Export::parse(name).unwrap(), plan, saved, o, &mut out).unwrap();
    out
}

fn actions(plan: &Plan) -> Vec<&plansync_shared::Action> {
    plan.themes
        .iter()
        .flat_map(|t| &t.objectives)
        .flat_map(|o| &o.actions)
        .collect()
}

/// The text of every `<w:t>` in a part of a Word file, in order.
fn docx_texts(bytes: &[u8], part: &str) -> (String, Vec<String>) {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut xml = String::new();
    zip.by_name(part).unwrap().read_to_string(&mut xml).unwrap();
    let mut texts = Vec::new();
    let mut rest = xml.as_str();
    while let Some(start) = rest.find("<w:t") {
        let after = &rest[start..];
        if !(after.starts_with("<w:t>") || after.starts_with("<w:t ")) {
            rest = &after[4..];
            continue;
        }
        let open_end = after.find('>').unwrap();
        if after[..open_end].ends_with('/') {
            rest = &after[open_end..];
            continue;
        }
        let close = after.find("</w:t>").unwrap();
        texts.push(unescape(&after[open_end + 1..close]));
        rest = &after[close..];
    }
    (xml, texts)
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[test]
fn the_tracker_csv_has_one_row_per_action_with_its_fields() {
    let (_, plan) = demo();
    let bytes = make("tracker.csv", &plan, None, &opts(None));
    let mut r = csv::Reader::from_reader(bytes.as_slice());
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        TRACKER_COLUMNS.to_vec()
    );
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let all = actions(&plan);
    assert_eq!(rows.len(), all.len());
    for (row, a) in rows.iter().zip(&all) {
        assert_eq!(&row[2], a.title);
        assert_eq!(&row[8], a.state.as_str());
        assert_eq!(
            &row[9],
            a.rag.get(&Q2).copied().unwrap_or(Rag::NotRated).as_str()
        );
        assert_eq!(&row[12], a.id.as_str());
        assert_eq!(&row[7], a.due.clone().unwrap_or_default());
    }
}

#[test]
fn the_tracker_xlsx_reads_back_with_coloured_worded_rag_filters_and_a_frozen_header() {
    use calamine::Reader;
    let (_, plan) = demo();
    let bytes = make("tracker.xlsx", &plan, None, &opts(None));
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes.clone())).unwrap();
    let range = book.worksheet_range("Action tracker").unwrap();
    let rows: Vec<Vec<String>> = range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows[0], TRACKER_COLUMNS.map(String::from).to_vec());
    let all = actions(&plan);
    assert_eq!(rows.len() - 1, all.len());
    for (row, a) in rows[1..].iter().zip(&all) {
        assert_eq!(row[2], a.title);
        assert_eq!(
            row[9],
            a.rag.get(&Q2).copied().unwrap_or(Rag::NotRated).as_str()
        );
    }
    // Filters on the header row, the header frozen, and the RAG fills in the styles.
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut sheet = String::new();
    zip.by_name("xl/worksheets/sheet1.xml")
        .unwrap()
        .read_to_string(&mut sheet)
        .unwrap();
    assert!(
        sheet.contains(&format!("<autoFilter ref=\"A1:M{}\"", all.len() + 1)),
        "{}",
        &sheet[..400]
    );
    assert!(sheet.contains("ySplit=\"1\"") && sheet.contains("state=\"frozen\""));
    let mut styles = String::new();
    zip.by_name("xl/styles.xml")
        .unwrap()
        .read_to_string(&mut styles)
        .unwrap();
    for rag in [Rag::Red, Rag::Amber, Rag::Green] {
        if all.iter().any(|a| a.rag.get(&Q2) == Some(&rag)) {
            assert!(styles.contains(blocks::rag_fill(rag)), "{rag} fill");
        }
    }
}

#[test]
fn the_plan_document_in_html_markdown_and_word_holds_every_theme_objective_and_action() {
    let (_, plan) = demo();
    let o = opts(None);
    let html = String::from_utf8(make("plan.html", &plan, None, &o)).unwrap();
    let md = String::from_utf8(make("plan.md", &plan, None, &o)).unwrap();
    let docx = make("plan.docx", &plan, None, &o);
    let (xml, texts) = docx_texts(&docx, "word/document.xml");
    assert!(html.contains("@page { size: A4"));
    assert!(
        html.contains("Referrals &lt;doubled&gt; &amp; waits grew"),
        "escaped"
    );
    for t in &plan.themes {
        assert!(html.contains(&format!("<h2>{}</h2>", html::escape(&t.title))));
        assert!(md.contains(&format!("\n## {}\n", t.title)));
        assert!(texts.contains(&t.title));
        for ob in &t.objectives {
            assert!(texts.contains(&ob.text), "{}", ob.text);
            assert!(md.contains(&format!("### {}", ob.text)));
            for a in &ob.actions {
                assert!(texts.contains(&a.title));
                let rag = a.rag.get(&Q2).copied().unwrap_or(Rag::NotRated);
                assert!(md.contains(&format!("| {} |", a.title)));
                assert!(html.contains(&html::escape(&a.title)));
                let travel = action_travel(a, Q2).describe();
                assert!(texts.contains(&travel), "{travel}");
                assert!(texts.contains(&rag.to_string()));
            }
        }
    }
    // Headings use Word's heading styles, and one table per objective with actions.
    assert!(xml.contains("w:val=\"Heading2\""));
    let tables = plan
        .themes
        .iter()
        .flat_map(|t| &t.objectives)
        .filter(|o| !o.actions.is_empty())
        .count()
        + usize::from(!plan.indicators.is_empty());
    assert_eq!(xml.matches("<w:tbl>").count(), tables);
    assert!(texts
        .iter()
        .any(|t| t.contains("set by Inspector, Riverton Police")));
}

#[test]
fn the_exception_report_lists_exactly_the_boards_red_amber_and_worsening_actions() {
    let (_, plan) = demo();
    let board = plan.boards[0].id.clone();
    let o = opts(Some(board.clone()));
    let expected: Vec<&str> = actions(&plan)
        .into_iter()
        .filter(|a| a.lead_board.as_ref() == Some(&board) || a.contributing_boards.contains(&board))
        .filter(|a| {
            matches!(a.rag.get(&Q2), Some(Rag::Red | Rag::Amber))
                || action_travel(a, Q2).shown() == Some(Direction::Worsening)
        })
        .map(|a| a.title.as_str())
        .collect();
    assert!(
        !expected.is_empty(),
        "the demo has exceptions for the first board"
    );
    let docx = make("exceptions.docx", &plan, None, &o);
    let (_, texts) = docx_texts(&docx, "word/document.xml");
    let html = String::from_utf8(make("exceptions.html", &plan, None, &o)).unwrap();
    for a in actions(&plan) {
        let listed = texts.contains(&a.title);
        assert_eq!(listed, expected.contains(&a.title.as_str()), "{}", a.title);
        assert_eq!(html.contains(&html::escape(&a.title)), listed);
    }
    // Indicators out of tolerance linked to the board's actions are listed.
    for i in &plan.indicators {
        let linked = actions(&plan).iter().any(|a| {
            a.indicator.as_ref() == Some(&i.id)
                && (a.lead_board.as_ref() == Some(&board) || a.contributing_boards.contains(&board))
        });
        assert_eq!(
            texts.contains(&i.name),
            linked && out_of_tolerance(i, Q2),
            "{}",
            i.name
        );
    }
}

#[test]
fn the_exception_report_opens_with_red_amber_and_worsening_by_theme_counted_from_the_plan() {
    let (_, plan) = demo();
    let o = opts(None);
    let html = String::from_utf8(make("exceptions.html", &plan, None, &o)).unwrap();
    let (_, texts) = docx_texts(
        &make("exceptions.docx", &plan, None, &o),
        "word/document.xml",
    );
    let summary_at = html.find("Summary").expect("a summary");
    assert!(summary_at < html.find("Actions by exception").unwrap());
    for t in &plan.themes {
        let mine: Vec<_> = t.objectives.iter().flat_map(|o| &o.actions).collect();
        let red = mine
            .iter()
            .filter(|a| a.rag.get(&Q2) == Some(&Rag::Red))
            .count();
        let amber = mine
            .iter()
            .filter(|a| a.rag.get(&Q2) == Some(&Rag::Amber))
            .count();
        let worse = mine
            .iter()
            .filter(|a| action_travel(a, Q2).shown() == Some(Direction::Worsening))
            .count();
        let cells = [red, amber, worse, mine.len()]
            .iter()
            .map(|n| format!("<td>{n}</td>"))
            .collect::<String>();
        let row = format!("<td>{}</td>{cells}", html::escape(&t.title));
        assert!(
            html.replace(['\n', ' '], "")
                .contains(&row.replace(' ', "")),
            "no summary row {row}"
        );
        assert!(texts.contains(&t.title));
    }
    let out = plan
        .indicators
        .iter()
        .filter(|i| out_of_tolerance(i, Q2))
        .count();
    let line = format!("Indicators out of tolerance: {out}.");
    assert!(html.contains(&line) && texts.contains(&line), "{line}");
    // The partnership's report has no board, so no column for the board's part.
    assert!(!html.contains("Board&#x27;s part") && !html.contains("Board's part"));
    assert!(!html.contains("<th>Role</th>"));
    let board = opts(Some(plan.boards[0].id.clone()));
    let html = String::from_utf8(make("exceptions.html", &plan, None, &board)).unwrap();
    assert!(
        html.contains("part</th>"),
        "a board's report says whether it leads"
    );
}

#[test]
fn the_workshop_outputs_give_each_objectives_decision_group_and_wording() {
    let (_, plan) = demo();
    let o = opts(None);
    let (_, texts) = docx_texts(&make("workshop.docx", &plan, None, &o), "word/document.xml");
    let html = String::from_utf8(make("workshop.html", &plan, None, &o)).unwrap();
    for ob in plan.themes.iter().flat_map(|t| &t.objectives) {
        assert!(texts.contains(&ob.text));
        assert!(html.contains(&html::escape(&ob.text)));
        let decision = ob.review.decision.to_string();
        assert!(texts.contains(&decision));
        if !ob.review.proposed.is_empty() {
            assert!(texts.contains(&ob.review.proposed));
        }
    }
}

#[test]
fn json_and_automerge_exports_bring_back_an_equal_plan() {
    let (mut doc, plan) = demo();
    let json = make("plan.json", &plan, None, &opts(None));
    let back = plan_from_json(&json).unwrap();
    assert_eq!(back, plan);
    let rebuilt = PlanDoc::from_plan(&back, &mut StdRng::seed_from_u64(1)).unwrap();
    assert_eq!(rebuilt.read().unwrap(), plan);
    let saved = doc.save();
    let raw = make("plan.automerge", &plan, Some(&saved), &opts(None));
    let loaded = PlanDoc::load(&raw, &mut StdRng::seed_from_u64(2)).unwrap();
    assert_eq!(loaded.read().unwrap(), plan);
    // Wrong files get clear errors.
    assert!(plan_from_json(b"{\"format\":\"other\"}")
        .unwrap_err()
        .contains("not a Plansync plan"));
    let v2 = String::from_utf8(json)
        .unwrap()
        .replacen("\"version\": 1", "\"version\": 2", 1);
    assert!(plan_from_json(v2.as_bytes())
        .unwrap_err()
        .contains("version 2"));
}

#[test]
fn a_comparison_marks_reworded_words_and_lists_added_and_removed_actions() {
    let (mut doc, older) = demo();
    let a = &older.themes[0].objectives[0].actions[0];
    doc.set_text(
        &plansync_shared::TextField::ActionTitle(a.id.clone()),
        &format!("{} weekly", a.title),
    )
    .unwrap();
    let removed = older.themes[1].objectives[0].actions[0].clone();
    doc.remove_action(&removed.id).unwrap();
    doc.commit();
    let newer = doc.read().unwrap();
    let mut o = opts(None);
    o.older = Some((older, "Draft for Panel, January".into()));
    let html = String::from_utf8(make("compare.html", &newer, None, &o)).unwrap();
    assert!(
        html.contains("<ins> weekly</ins>") || html.contains("<ins>weekly</ins>"),
        "{html}"
    );
    assert!(
        html.contains(&format!("Action &#39;{}&#39; removed", removed.title))
            || html.contains(&html::escape(&format!(
                "Action '{}' removed",
                removed.title
            )))
    );
    let (xml, texts) = docx_texts(&make("compare.docx", &newer, None, &o), "word/document.xml");
    assert!(texts.iter().any(|t| t.trim() == "weekly"));
    assert!(xml.contains("<w:u w:val=\"single\""));
}

#[test]
fn unknown_export_names_are_a_clear_error() {
    let e = Export::parse("plan.odt").unwrap_err().to_string();
    assert!(e.contains("no export called 'plan.odt'"));
}

mod pdf;
