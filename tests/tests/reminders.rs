//! Email reminders against the real server and a real SMTP server (aiosmtpd): one reminder
//! to each lead with outstanding actions who wants them, naming the actions and linking to
//! the plan with no token; sent once across a restart and across two nodes on PostgreSQL; a
//! mail server that never answers is timed out and retried while sync carries on; and
//! 10,000 participants are reminded in bounded memory.

use plansync_shared::{DocumentId, PersonId, Plan, Rag, ReportingPeriod};
use plansync_tests::smtp::{free_port, Mail, MailSink};
use plansync_tests::{http_blocking, Backing, Launch, RustClient, Server, WAIT};
use std::time::{Duration, Instant};

fn today() -> String {
    time::OffsetDateTime::now_utc().date().to_string()
}

fn period() -> ReportingPeriod {
    ReportingPeriod::containing(time::OffsetDateTime::now_utc().date())
}

/// A deadline three days away: the reminder a week before it is due at once.
fn deadline() -> String {
    (time::OffsetDateTime::now_utc().date() + time::Duration::days(3)).to_string()
}

/// The mail settings a test server runs with: look every second, retry after a second.
fn mail_args(url: &str) -> Vec<String> {
    [
        "--smtp-url",
        url,
        "--mail-from",
        "Plansync <plans@council.example>",
        "--reminder-check-secs",
        "1",
        "--mail-retry-secs",
        "1",
        "--smtp-timeout-secs",
        "1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Two plan people who lead actions, the first leading at least two.
fn two_leads(plan: &Plan) -> (PersonId, PersonId) {
    let mut leads: Vec<(PersonId, usize)> = Vec::new();
    for a in plan
        .themes
        .iter()
        .flat_map(|t| &t.objectives)
        .flat_map(|o| &o.actions)
    {
        if let Some(l) = &a.lead {
            match leads.iter_mut().find(|(p, _)| p == l) {
                Some((_, n)) => *n += 1,
                None => leads.push((l.clone(), 1)),
            }
        }
    }
    leads.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    (leads[0].0.clone(), leads[1].0.clone())
}

/// The titles of the actions `lead` leads.
fn titles_of(plan: &Plan, lead: &PersonId) -> Vec<String> {
    plan.themes
        .iter()
        .flat_map(|t| &t.objectives)
        .flat_map(|o| &o.actions)
        .filter(|a| a.lead.as_ref() == Some(lead))
        .map(|a| a.title.clone())
        .collect()
}

/// As `token`: claim to be `person` (an owner's call links and confirms, `shared` lets
/// several participants be them).
fn link(server: &Server, doc: DocumentId, token: &str, who: i64, person: &PersonId, shared: bool) {
    let (status, body) = http_blocking(
        &server.addr(),
        "PUT",
        &format!("/api/plans/{doc}/participants/{who}/people/{person}"),
        Some(token),
        Some(&serde_json::json!({ "shared": shared })),
    );
    assert_eq!(status, 200, "{body}");
}

/// As `token` (participant `who`): give my address, wanting reminders or not.
fn give_email(
    server: &Server,
    doc: DocumentId,
    token: &str,
    who: i64,
    email: &str,
    wanted: bool,
) -> (u16, serde_json::Value) {
    http_blocking(
        &server.addr(),
        "PUT",
        &format!("/api/plans/{doc}/participants/{who}/email"),
        Some(token),
        Some(&serde_json::json!({ "email": email, "reminders": wanted })),
    )
}

/// The owner opens a round for this quarter with a deadline three days away; `done` are
/// people whose actions are all updated in the same change (so no reminder is ever due
/// for them).
async fn open_round(server: &Server, doc: DocumentId, done: &[PersonId]) -> RustClient {
    let owner = RustClient::connect(&server.sync_url(), "owner").await;
    owner.find(doc).await;
    let plan = owner.plan(doc);
    owner.edit(doc, |p| {
        let mut rng = rand::rng();
        p.open_round(&mut rng, period(), &deadline(), None, &today(), "Officer")
            .unwrap();
        for a in plan
            .themes
            .iter()
            .flat_map(|t| &t.objectives)
            .flat_map(|o| &o.actions)
            .filter(|a| a.lead.as_ref().is_some_and(|l| done.contains(l)))
        {
            p.set_rag(&a.id, period(), Rag::Green).unwrap();
            p.add_progress_update(
                &mut rng,
                &a.id,
                "Lead",
                "Probation Service",
                &today(),
                "On track.",
            )
            .unwrap();
        }
    });
    owner.wait_server_has_all(doc).await;
    owner
}

/// Waits `secs` seconds: a reminder tick every second, so several ticks pass.
fn let_ticks_pass(secs: u64) {
    std::thread::sleep(Duration::from_secs(secs));
}

fn recipients(mails: &[Mail]) -> Vec<String> {
    let mut to: Vec<String> = mails.iter().filter_map(|m| m.header("To")).collect();
    to.sort();
    to
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_with_outstanding_actions_gets_one_reminder_naming_them_and_no_more_after_a_restart()
{
    let sink = MailSink::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("plans.db");
    let args = mail_args(&sink.url());
    let server = Server::start(&db, &refs(&args));
    let doc = server.demo_plan().await;
    let reader = RustClient::connect(&server.sync_url(), "reader").await;
    reader.find(doc).await;
    let plan = reader.plan(doc);
    let (lead_a, lead_b) = two_leads(&plan);

    let (a, a_token) = server.join_as("editor", "Lead A");
    let (b, b_token) = server.join_as("editor", "Lead B");
    let (c, c_token) = server.join_as("editor", "Lead C");
    link(&server, doc, &a_token, a, &lead_a, false);
    link(&server, doc, &b_token, b, &lead_b, false);
    link(&server, doc, &server.token, c, &lead_a, true);
    // An address with a header slipped in is refused, and nothing is kept.
    let (status, e) = give_email(
        &server,
        doc,
        &a_token,
        a,
        "lead.a@probation.example\r\nBcc: all@example.com",
        true,
    );
    assert_eq!(status, 400, "{e}");
    assert!(e.to_string().contains("not an email address"), "{e}");
    assert_eq!(
        give_email(&server, doc, &a_token, a, "lead.a@probation.example", true).0,
        200
    );
    assert_eq!(
        give_email(&server, doc, &b_token, b, "lead.b@council.example", true).0,
        200
    );
    // C leads the same actions as A but stopped their reminders.
    assert_eq!(
        give_email(&server, doc, &c_token, c, "lead.c@council.example", false).0,
        200
    );

    // B has updated every action of theirs by the time the round opens; A has not.
    let _owner = open_round(&server, doc, std::slice::from_ref(&lead_b)).await;
    assert_eq!(sink.wait_for(1, WAIT), 1, "A's reminder arrives");
    let_ticks_pass(4);
    let mails = sink.messages();
    assert_eq!(
        recipients(&mails),
        vec!["lead.a@probation.example"],
        "exactly one reminder, for A"
    );
    let mail = &mails[0];
    let subject = mail.header("Subject").unwrap();
    assert!(
        subject.contains(&format!("to update for {}", period())),
        "{subject}"
    );
    assert!(mail
        .header("From")
        .unwrap()
        .contains("plans@council.example"));
    let body = mail.body();
    for title in titles_of(&plan, &lead_a) {
        assert!(body.contains(&title), "{title} named in:\n{body}");
    }
    for title in titles_of(&plan, &lead_b) {
        assert!(!body.contains(&title), "B's {title} not in A's reminder");
    }
    let link = format!("{}#/plan/{doc}", server.url);
    assert!(body.contains(&link), "{link} in:\n{body}");
    for token in [&server.token, &a_token, &b_token, &c_token] {
        assert!(!mail.raw.contains(token.as_str()), "no token in a reminder");
    }

    // Restarted, the server knows the reminder went.
    server.kill();
    let server = Server::start(&db, &refs(&args));
    assert!(server.health_latency().is_ok());
    let_ticks_pass(4);
    assert_eq!(sink.count(), 1, "no second reminder after a restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_postgresql_send_each_reminder_once_and_a_restarted_node_sends_none_again() {
    let sink = MailSink::start();
    let backing = Backing::postgres();
    let args = mail_args(&sink.url());
    let one = backing.start(&refs(&args));
    let two = backing.start(&refs(&args));
    let doc = one.demo_plan().await;
    let reader = RustClient::connect(&one.sync_url(), "reader").await;
    reader.find(doc).await;
    let (lead, _) = two_leads(&reader.plan(doc));
    const LEADS: usize = 12;
    let mut expected = Vec::new();
    for i in 0..LEADS {
        let (who, token) = one.join_as("editor", &format!("Deputy {i}"));
        link(&one, doc, &one.token, who, &lead, true);
        let email = format!("deputy{i:02}@probation.example");
        assert_eq!(give_email(&two, doc, &token, who, &email, true).0, 200);
        expected.push(email);
    }
    expected.sort();
    // The round opens on node one; node two sees it through the database.
    let _owner = open_round(&one, doc, &[]).await;
    assert_eq!(sink.wait_for(LEADS, WAIT), LEADS);
    let_ticks_pass(4);
    assert_eq!(
        recipients(&sink.messages()),
        expected,
        "each deputy once, from one node or the other"
    );

    two.kill();
    let two = backing.start(&refs(&args));
    assert!(two.health_latency().is_ok());
    let_ticks_pass(4);
    assert_eq!(sink.count(), LEADS, "a restarted node sends nothing again");
}

/// A mail server that takes connections and never says a word, until stopped.
struct SilentMailServer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    port: u16,
}

impl SilentMailServer {
    fn start(port: u16) -> Self {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            for conn in listener.incoming().take(1000) {
                if flag.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                if let Ok(c) = conn {
                    held.push(c);
                }
            }
        });
        Self {
            stop,
            thread: Some(thread),
            port,
        }
    }

    /// Stops listening and drops every connection it held.
    fn stop(mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_server_that_never_answers_is_timed_out_while_sync_carries_on_and_the_reminder_goes_when_it_is_back(
) {
    let port = free_port();
    let silent = SilentMailServer::start(port);
    let dir = tempfile::tempdir().unwrap();
    let args = mail_args(&format!("smtp://127.0.0.1:{port}"));
    let server = Server::start_with(
        &dir.path().join("plans.db"),
        "127.0.0.1:0",
        &refs(&args),
        &Launch {
            capture_log: true,
            ..Launch::default()
        },
    );
    let doc = server.demo_plan().await;
    let reader = RustClient::connect(&server.sync_url(), "reader").await;
    reader.find(doc).await;
    let (lead, _) = two_leads(&reader.plan(doc));
    let (who, token) = server.join_as("editor", "Lead");
    link(&server, doc, &token, who, &lead, false);
    assert_eq!(
        give_email(&server, doc, &token, who, "lead@probation.example", true).0,
        200
    );
    let owner = open_round(&server, doc, &[]).await;

    let start = Instant::now();
    while !server
        .log
        .lock()
        .unwrap()
        .contains("could not take a reminder")
    {
        assert!(
            start.elapsed() < WAIT,
            "the silent mail server was never timed out"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Meanwhile the server answers and syncs as ever.
    let latency = server.health_latency().expect("health answers");
    assert!(latency < Duration::from_secs(2), "{latency:?}");
    let first = reader.plan(doc).themes[0].objectives[0].actions[0]
        .id
        .clone();
    let due_of = |plan: Plan| plan.themes[0].objectives[0].actions[0].due.clone();
    owner.edit(doc, |p| p.set_due(&first, Some("2031-03-31")).unwrap());
    owner.wait_server_has_all(doc).await;
    let start = Instant::now();
    while due_of(reader.plan(doc)).as_deref() != Some("2031-03-31") {
        assert!(
            start.elapsed() < WAIT,
            "the edit did not reach another client"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The mail server comes back: the reminder goes, once.
    silent.stop();
    let sink = MailSink::start_on(port);
    assert_eq!(
        sink.wait_for(1, Duration::from_secs(60)),
        1,
        "the reminder is retried"
    );
    let_ticks_pass(3);
    assert_eq!(recipients(&sink.messages()), vec!["lead@probation.example"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_participants_each_get_one_reminder_in_batches_in_bounded_memory_while_the_server_answers(
) {
    const PEOPLE: usize = 10_000;
    let sink = MailSink::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("plans.db");
    // The demo plan and its owner, then 10,000 participants written straight into the
    // store (joining them one by one over HTTP would be the test's whole time).
    let first = Server::start(&db, &[]);
    let doc = first.demo_plan().await;
    let reader = RustClient::connect(&first.sync_url(), "reader").await;
    reader.find(doc).await;
    let (lead, _) = two_leads(&reader.plan(doc));
    drop(reader);
    first.kill();
    // One transaction through SQLite itself: the store's calls commit one by one, which
    // is a minute for 30,000 rows. (The columns are the store's schema, migration 4.)
    let made = Instant::now();
    {
        let mut c = rusqlite::Connection::open(&db).unwrap();
        let tx = c.transaction().unwrap();
        for i in 0..PEOPLE {
            tx.execute(
                "INSERT INTO participants (plan_id, name, agency, role, token_hash, created_ms) VALUES (?1, ?2, 'Probation Service', 'editor', ?3, 1)",
                rusqlite::params![doc.to_string(), format!("Deputy {i}"), format!("not-a-token-{i}")],
            )
            .unwrap();
            let id = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO person_links (plan_id, participant_id, person_id, confirmed, shared, created_ms) VALUES (?1, ?2, ?3, 1, 1, 1)",
                rusqlite::params![doc.to_string(), id, lead.to_string()],
            )
            .unwrap();
            tx.execute(
                "INSERT INTO participant_emails (participant_id, plan_id, email, reminders) VALUES (?1, ?2, ?3, 1)",
                rusqlite::params![id, doc.to_string(), format!("deputy{i:05}@probation.example")],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    eprintln!("{PEOPLE} participants written in {:?}", made.elapsed());

    let args = mail_args(&sink.url());
    let server = Server::start(&db, &refs(&args));
    let settled_kib = server.rss_kib();
    let watch = plansync_tests::HealthWatch::start_watching(&server.addr(), server.pid());
    let _owner = open_round(&server, doc, &[]).await;
    let sent = Instant::now();
    assert_eq!(
        sink.wait_for(PEOPLE, Duration::from_secs(600)),
        PEOPLE,
        "every reminder arrives"
    );
    let took = sent.elapsed();
    let health = watch.report();
    let_ticks_pass(3);
    let mails = sink.messages();
    let to: std::collections::BTreeSet<String> =
        mails.iter().filter_map(|m| m.header("To")).collect();
    assert_eq!(
        (mails.len(), to.len()),
        (PEOPLE, PEOPLE),
        "each participant once"
    );
    let grew_kib = health.peak_rss_kib.saturating_sub(settled_kib);
    eprintln!(
        "{PEOPLE} reminders in {took:?}; memory {settled_kib} KiB settled, peak {} KiB (+{grew_kib} KiB); slowest /health {:?}, {} of {} unanswered",
        health.peak_rss_kib, health.slowest, health.failed, health.asked
    );
    assert!(
        grew_kib < 96 * 1024,
        "reminders held in batches, not all at once: +{grew_kib} KiB"
    );
    assert_eq!(
        health.failed, 0,
        "the server answered throughout: {health:?}"
    );
}
