//! The commands that work on a database beside a running server (or without one): enroll,
//! pull, status, snapshot, export and invite.

use crate::args::{DbArgs, EnrollArgs, ExportArgs, InviteArgs, PullArgs, SnapshotArgs, StatusArgs};
use anyhow::Context;
use plansync_server::{join_link, now_ms, Limits, Store};
use std::path::PathBuf;

/// `plansync enroll`: enrolls a relaying server in a plan and prints its token.
pub async fn enroll(a: EnrollArgs) -> anyhow::Result<()> {
    let EnrollArgs {
        db,
        plan,
        name,
        role,
    } = a;
    let store = db.open().await?;
    let row = find_plan(&store, &db, &plan).await?;
    let (p, token) = plansync_server::enroll(&store, row.id.clone(), &name, role.into())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "Enrolled \"{}\" in \"{}\" as a relaying server ({}). Its token (shown once; revoke it on the People page):\n{token}",
        p.name,
        row.title,
        p.role.as_str()
    );
    Ok(())
}

/// `plansync pull`: fetches the plans an upstream server grants onto this one.
pub async fn pull(a: PullArgs) -> anyhow::Result<()> {
    let PullArgs {
        db,
        upstream,
        upstream_token,
    } = a;
    let up = plansync_server::relay::Upstream::new(&upstream, &upstream_token)?;
    let store = db.open().await?;
    let sync = plansync_server::SyncHandle::start(store.clone(), Limits::default()).await?;
    let pulled = plansync_server::relay::pull(&sync, &store, &up)
        .await
        .with_context(|| format!("could not pull from {}", up.url))?;
    for (id, title, new) in &pulled.plans {
        println!(
            "{} \"{title}\" ({id}).",
            if *new {
                "Fetched"
            } else {
                "Brought up to date"
            }
        );
    }
    println!(
        "{} plan(s), {} snapshot(s) added, {} change author(s) recorded, into {}. Start the room with: plansync serve --db {} --listen 0.0.0.0:8080 --upstream {} --upstream-token …",
        pulled.plans.len(),
        pulled.snapshots,
        pulled.authors,
        db.location()?.describe(),
        db.location()?.describe(),
        up.url
    );
    Ok(())
}

/// `plansync status`: says what each relay has sent to its upstream.
pub async fn status(a: StatusArgs) -> anyhow::Result<()> {
    let StatusArgs { db } = a;
    let store = db.open().await?;
    let plans = store.plans().await?;
    let rows = plansync_server::relay::offline_status(&store).await?;
    if rows.is_empty() {
        println!("This server has not relayed to an upstream server yet.");
    }
    for (p, waiting) in rows {
        let title = plans
            .iter()
            .find(|r| r.id == p.plan)
            .map_or(p.plan.clone(), |r| r.title.clone());
        let line = plansync_shared::relay_line(waiting, p.reached_ms, p.sent_ms, utc_time);
        println!("{title} → {}: {line}", p.upstream);
    }
    Ok(())
}

/// `plansync snapshot`: names the plan as it is now.
pub async fn snapshot(a: SnapshotArgs) -> anyhow::Result<()> {
    let SnapshotArgs { db, plan, name } = a;
    anyhow::ensure!(
        !name.trim().is_empty() && name.chars().count() <= 200,
        "--name must be 1 to 200 characters"
    );
    let (store, mut doc) = open_plan(&db, &plan).await?;
    let snap = store
        .add_snapshot(
            plan.clone(),
            name.trim().to_string(),
            doc.get_heads(),
            None,
            now_ms(),
        )
        .await?;
    println!(
        "Snapshot \"{}\" of plan {plan} taken (id {}).",
        snap.name, snap.id
    );
    Ok(())
}

/// `plansync export`: writes an export of a plan.
pub async fn export(a: ExportArgs) -> anyhow::Result<()> {
    let ExportArgs {
        db,
        plan,
        name,
        at,
        from,
        board,
        period,
        out,
    } = a;
    let (store, mut doc) = open_plan(&db, &plan).await?;
    let at = match at {
        Some(n) => Some(named_snapshot(&store, &plan, &n).await?),
        None => None,
    };
    let from = match from {
        Some(n) => Some(named_snapshot(&store, &plan, &n).await?),
        None => None,
    };
    let period = period
        .map(|p| plansync_shared::ReportingPeriod::from_key(&p))
        .transpose()?;
    let mut job = plansync_server::ExportJob::prepare(
        &name,
        &mut doc,
        at.as_ref(),
        from.as_ref(),
        board,
        period,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    if job.export.shows_sign_offs() {
        let mut sign_offs = store.sign_offs(plan.clone()).await?;
        let now = plansync_shared::read_plan(&doc)?;
        plansync_server::mark_changed(&mut doc, &now, &mut sign_offs);
        job.options.sign_offs = sign_offs;
    }
    let path = out.unwrap_or_else(|| PathBuf::from(&name));
    let file = std::fs::File::create(&path)
        .with_context(|| format!("could not create {}", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    job.write(&mut w)?;
    std::io::Write::flush(&mut w)?;
    println!(
        "Wrote {} ({} bytes).",
        path.display(),
        std::fs::metadata(&path)?.len()
    );
    Ok(())
}

/// `plansync invite`: prints an invitation link and code for a plan.
pub async fn invite(a: InviteArgs) -> anyhow::Result<()> {
    let InviteArgs {
        db,
        plan,
        role,
        uses,
        expires_hours,
        url,
    } = a;
    anyhow::ensure!((1..=500).contains(&uses), "--uses must be 1 to 500");
    anyhow::ensure!(
        (1..=2160).contains(&expires_hours),
        "--expires-hours must be 1 to 2160 (90 days)"
    );
    let store = db.open().await?;
    let row = find_plan(&store, &db, &plan).await?;
    let inv = plansync_server::invite(
        &store,
        row.id.clone(),
        role.into(),
        now_ms() + expires_hours * 3_600_000,
        uses,
        plansync_shared::SignInRule::Code,
    )
    .await?;
    println!(
        "Invitation to \"{}\" as {} ({} use(s), {} hours): {} (code {})",
        row.title,
        inv.role.as_str(),
        uses,
        expires_hours,
        join_link(&url, &inv.code),
        inv.code
    );
    Ok(())
}

/// Opens the database and reads a plan's document, with a clear error for a wrong id.
async fn open_plan(
    db: &DbArgs,
    plan: &str,
) -> anyhow::Result<(Store, plansync_shared::automerge::AutoCommit)> {
    let store = db.open().await?;
    find_plan(&store, db, plan).await?;
    let id = plan
        .parse()
        .map_err(|_| anyhow::anyhow!("{plan} is not a plan id"))?;
    let bytes = store
        .load(id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the plan {plan} has no stored document"))?
        .bytes;
    let doc =
        tokio::task::spawn_blocking(move || plansync_shared::automerge::AutoCommit::load(&bytes))
            .await?
            .context("the stored plan could not be read")?;
    Ok((store, doc))
}

/// A plan's row, or a clear error listing the plans there are.
async fn find_plan(
    store: &Store,
    db: &DbArgs,
    plan: &str,
) -> anyhow::Result<plansync_server::PlanRow> {
    let plans = store.plans().await?;
    match plans.iter().find(|p| p.id == plan) {
        Some(row) => Ok(row.clone()),
        None => anyhow::bail!(
            "there is no plan {plan} in {}: the plans are {}",
            db.location()?.describe(),
            plans
                .iter()
                .map(|p| format!("{} ({})", p.id, p.title))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A snapshot of a plan by name, or a clear error listing the names there are.
async fn named_snapshot(
    store: &Store,
    plan: &str,
    name: &str,
) -> anyhow::Result<plansync_server::Snapshot> {
    if let Some(s) = store
        .snapshot_named(plan.to_string(), name.to_string())
        .await?
    {
        return Ok(s);
    }
    let names: Vec<String> = store
        .snapshots(plan.to_string())
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|s| format!("\"{}\"", s.name))
        .collect();
    anyhow::bail!(
        "the plan has no snapshot called \"{name}\"; its snapshots are: {}",
        if names.is_empty() {
            "none yet".into()
        } else {
            names.join(", ")
        }
    )
}

/// A time as `plansync status` prints it: "16:42 UTC, 30 Nov 2026".
fn utc_time(ms: i64) -> String {
    let format = time::macros::format_description!(
        "[hour]:[minute] UTC, [day padding:none] [month repr:short] [year]"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_else(|| "an unknown time".into())
}
