//! The printable papers as PDF, read back with poppler's readers.

use super::*;

/// What poppler's readers say of a PDF: `pdfinfo`, `pdffonts`, and the text in reading
/// order (`pdftotext -raw`) without white space.
fn poppler(pdf: &[u8]) -> (String, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("paper.pdf");
    std::fs::write(&path, pdf).unwrap();
    let run = |cmd: &str, args: &[&str]| {
        let out = std::process::Command::new(cmd)
            .args(args)
            .arg(&path)
            .args(if cmd == "pdftotext" {
                &["-"][..]
            } else {
                &[][..]
            })
            .output()
            .unwrap_or_else(|e| {
                panic!("{cmd}: {e} (poppler-utils; scripts/setup.sh --test installs it)")
            });
        assert!(
            out.status.success(),
            "{cmd} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run("pdftotext", &["-raw", "-enc", "UTF-8"]);
    (run("pdfinfo", &[]), run("pdffonts", &[]), squashed(&text))
}

/// Text without its white space: a line broken in a table cell reads the same as whole.
fn squashed(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn every_printable_paper_comes_as_a_tagged_a4_pdf_with_real_text_and_embedded_fonts() {
    let (mut doc, older) = demo();
    let a = older.themes[0].objectives[0].actions[0].id.clone();
    doc.set_text(
        &plansync_shared::TextField::ActionTitle(a),
        "Reworded for the Board",
    )
    .unwrap();
    doc.commit();
    let plan = doc.read().unwrap();
    let mut o = opts(None);
    o.older = Some((older, "Draft for Panel, January".into()));
    for name in ["plan.pdf", "exceptions.pdf", "workshop.pdf", "compare.pdf"] {
        let pdf = make(name, &plan, None, &o);
        assert!(pdf.starts_with(b"%PDF-"), "{name}");
        let (info, fonts, _) = poppler(&pdf);
        assert!(info.contains("Tagged:          yes"), "{name}: {info}");
        assert!(info.contains("(A4)"), "{name}: {info}");
        assert!(info.contains("Title:"), "{name}: {info}");
        let embedded: Vec<&str> = fonts.lines().skip(2).collect();
        assert!(!embedded.is_empty(), "{name}: {fonts}");
        for f in embedded {
            assert!(f.contains("DejaVuSans"), "{name}: {f}");
            // name, type, encoding, emb, sub, uni, object, id
            let cols: Vec<&str> = f.split_whitespace().collect();
            assert_eq!(cols[cols.len() - 5], "yes", "{name}: embedded: {f}");
        }
    }
    let (_, _, text) = poppler(&make("plan.pdf", &plan, None, &o));
    for t in &plan.themes {
        assert!(text.contains(&squashed(&t.title)), "{}", t.title);
        for ob in &t.objectives {
            assert!(text.contains(&squashed(&ob.text)), "{}", ob.text);
            for a in &ob.actions {
                assert!(text.contains(&squashed(&a.title)), "{}", a.title);
            }
        }
    }
    assert!(text.contains(&squashed("Referrals <doubled> & waits grew")));
    let (_, _, text) = poppler(&make("compare.pdf", &plan, None, &o));
    assert!(text.contains("RewordedfortheBoard"), "{text}");
    let (_, _, text) = poppler(&make("workshop.pdf", &plan, None, &o));
    for ob in plan.themes.iter().flat_map(|t| &t.objectives) {
        assert!(text.contains(&squashed(&ob.text)), "{}", ob.text);
    }
}

#[test]
fn the_exception_report_pdf_names_exactly_the_boards_exceptions() {
    let (_, plan) = demo();
    let board = plan.boards[0].id.clone();
    let o = opts(Some(board.clone()));
    let (_, texts) = docx_texts(
        &make("exceptions.docx", &plan, None, &o),
        "word/document.xml",
    );
    let (_, _, text) = poppler(&make("exceptions.pdf", &plan, None, &o));
    let mut listed = 0;
    for a in actions(&plan) {
        // The PDF lists the same actions as the Word paper.
        assert_eq!(
            text.contains(&squashed(&a.title)),
            texts.contains(&a.title),
            "{}",
            a.title
        );
        listed += usize::from(texts.contains(&a.title));
    }
    assert!(listed > 0);
    assert!(text.contains(&squashed(&plan.boards[0].name)));
}

#[test]
fn plan_text_that_looks_like_typst_markup_prints_as_written() {
    let (mut doc, _) = demo();
    let a = doc.read().unwrap().themes[0].objectives[0].actions[0]
        .id
        .clone();
    let title = r#"#read("/etc/passwd") $x^2$ *not bold* #set page(width: 1pt) ] }"#;
    doc.set_text(&plansync_shared::TextField::ActionTitle(a), title)
        .unwrap();
    doc.commit();
    let plan = doc.read().unwrap();
    let (info, _, text) = poppler(&make("plan.pdf", &plan, None, &opts(None)));
    assert!(text.contains(&squashed(title)), "{text}");
    assert!(!text.contains("root:"), "no file is read");
    assert!(info.contains("(A4)"));
}

#[test]
fn the_board_pack_pdf_has_its_cover_every_board_its_sign_off_every_exception_and_what_changed() {
    use plansync_shared::{is_exception, RoundId, SignOff};
    let (mut doc, older) = demo();
    let mut rng = StdRng::seed_from_u64(8);
    doc.open_round(
        &mut rng,
        Q2,
        "2026-10-15",
        Some("2026-10-28"),
        "2026-09-20",
        "Officer",
    )
    .unwrap();
    let a = older.themes[0].objectives[0].actions[0].id.clone();
    doc.set_text(
        &plansync_shared::TextField::ActionTitle(a),
        "Reworded for the pack",
    )
    .unwrap();
    doc.commit();
    let plan = doc.read().unwrap();
    let board = &plan.boards[0];
    let mut o = opts(None);
    o.older = Some((older, "snapshot \"Last round\"".into()));
    o.sign_offs = vec![SignOff {
        id: 1,
        round: RoundId::new(plan.rounds[0].id.as_str()),
        board: board.id.clone(),
        board_name: board.name.clone(),
        person: plansync_shared::PersonId::new("pe-chair"),
        name: "Chair".into(),
        heads: vec![],
        snapshot: None,
        signed_ms: 0,
        signed_on: "2026-10-20".into(),
        changed: false,
        known: Some(plansync_shared::Known::SignedIn(
            "Riverton City Council".into(),
        )),
    }];
    let pdf = make("pack.pdf", &plan, None, &o);
    let (info, _, text) = poppler(&pdf);
    assert!(info.contains("Tagged:          yes"), "{info}");
    assert!(info.contains("(A4)"), "{info}");
    assert!(
        text.contains(&squashed("For the meeting on 28 October 2026")),
        "{text}"
    );
    assert!(text.contains(&squashed(&format!(
        "Signed off by Chair (signed in with Riverton City Council), {}, 20 October 2026",
        board.name
    ))));
    for b in &plan.boards[1..] {
        assert!(
            text.contains(&squashed(&format!("{}: not signed off for {}", b.name, Q2))),
            "{}",
            b.name
        );
    }
    let exceptions: Vec<_> = actions(&plan)
        .into_iter()
        .filter(|a| is_exception(a, Q2))
        .collect();
    assert!(!exceptions.is_empty());
    for a in exceptions {
        assert!(text.contains(&squashed(&a.title)), "{}", a.title);
    }
    assert!(text.contains(&squashed("What changed since snapshot \"Last round\"")));
    assert!(text.contains("Rewordedforthepack"));
    // The other formats print the charts' words.
    let html = String::from_utf8(make("pack.html", &plan, None, &o)).unwrap();
    assert!(html.contains("red, "), "the bars in words");
}
