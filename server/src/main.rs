//! `plansync`: the command line.

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use plansync_server::{
    fit_to_file_limit, join_link, now_ms, ConnectionLimits, ImportLimits, JoinLimits, Limits,
    Location, Role, Settings, Store,
};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Plansync: write and track one shared Police, Crime and Community Safety Plan together.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// A role, as typed on the command line.
#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Viewer,
    Editor,
    Owner,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Viewer => Role::Viewer,
            RoleArg::Editor => Role::Editor,
            RoleArg::Owner => Role::Owner,
        }
    }
}

/// Limits on tracker imports (a council tracker has hundreds of rows, not millions).
#[derive(clap::Args)]
struct ImportArgs {
    /// Rows a tracker import reads at most.
    #[arg(long, default_value_t = ImportLimits::default().max_rows)]
    max_import_rows: usize,
    /// Columns a tracker import reads at most.
    #[arg(long, default_value_t = ImportLimits::default().max_columns)]
    max_import_columns: usize,
    /// Non-empty cells a tracker import reads at most.
    #[arg(long, default_value_t = ImportLimits::default().max_cells)]
    max_import_cells: usize,
    /// Bytes an .xlsx tracker may unpack to at most.
    #[arg(long, default_value_t = ImportLimits::default().max_unpacked_bytes)]
    max_import_unpacked_bytes: u64,
}

impl ImportArgs {
    fn limits(&self) -> ImportLimits {
        ImportLimits {
            max_rows: self.max_import_rows.max(2),
            max_columns: self.max_import_columns.max(1),
            max_cells: self.max_import_cells.max(1),
            max_unpacked_bytes: self.max_import_unpacked_bytes.max(1 << 16),
        }
    }
}

/// Email reminders: sent only when --smtp-url is given.
#[derive(clap::Args)]
struct MailArgs {
    /// Send reminders through this mail server: smtp://[USER@]HOST[:PORT] (add
    /// ?tls=required for STARTTLS) or smtps://[USER@]HOST[:PORT]. Without it no email is sent.
    #[arg(long)]
    smtp_url: Option<String>,
    /// The address reminders come from, e.g. "Plansync <plans@council.gov.uk>".
    #[arg(long, requires = "smtp_url")]
    mail_from: Option<String>,
    /// A file holding the SMTP password (for the user in --smtp-url); or set
    /// PLANSYNC_SMTP_PASSWORD. Never give it on the command line.
    #[arg(long, requires = "smtp_url")]
    smtp_password_file: Option<PathBuf>,
    /// Seconds to wait for the mail server to connect or answer.
    #[arg(long, default_value_t = 30)]
    smtp_timeout_secs: u64,
    /// Seconds between looks at the plans for reminders due.
    #[arg(long, default_value_t = 60)]
    reminder_check_secs: u64,
    /// Seconds to wait after the mail server fails, doubled each time (up to an hour).
    #[arg(long, default_value_t = 60)]
    mail_retry_secs: u64,
}

impl MailArgs {
    /// The mail settings, if reminders are to be sent.
    fn settings(&self) -> anyhow::Result<Option<plansync_server::mail::MailSettings>> {
        let Some(url) = &self.smtp_url else {
            return Ok(None);
        };
        let from = self
            .mail_from
            .clone()
            .context("--smtp-url needs --mail-from: the address reminders come from")?;
        let password = match &self.smtp_password_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| {
                        format!("could not read the SMTP password file {}", path.display())
                    })?
                    .trim_end_matches(['\r', '\n'])
                    .to_string(),
            ),
            None => std::env::var("PLANSYNC_SMTP_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty()),
        };
        Ok(Some(plansync_server::mail::MailSettings {
            url: url.clone(),
            from,
            password,
            timeout: std::time::Duration::from_secs(self.smtp_timeout_secs.max(1)),
            check_every: std::time::Duration::from_secs(self.reminder_check_secs.max(1)),
            retry: std::time::Duration::from_secs(self.mail_retry_secs.max(1)),
        }))
    }
}

/// Where the plans are kept.
#[derive(clap::Args)]
struct DbArgs {
    /// The SQLite file that holds the plans (created if missing).
    #[arg(long, default_value = "plansync.db", conflicts_with = "database")]
    db: PathBuf,
    /// The database instead of --db: sqlite://FILE, or postgres://USER@HOST[:PORT]/DATABASE
    /// for a central deployment (several servers on one database).
    #[arg(long, value_parser = Location::parse)]
    database: Option<Location>,
}

impl DbArgs {
    fn location(&self) -> Location {
        self.database
            .clone()
            .unwrap_or_else(|| Location::Sqlite(self.db.clone()))
    }

    /// Opens the storage, saying which on failure.
    async fn open(&self) -> anyhow::Result<Store> {
        let location = self.location();
        plansync_server::store::open(&location)
            .await
            .with_context(|| format!("could not open the database {}", location.describe()))
    }
}

#[derive(Subcommand)]
// Parsed once at start: the size of the largest command does not matter.
#[allow(clippy::large_enum_variant)]
enum Command {
    /// Runs the sync server and the web app. Prints a one-time owner link for every plan
    /// that has no owner yet.
    Serve {
        #[command(flatten)]
        db: DbArgs,
        /// Address and port to listen on (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Start a new database with the demo plan (otherwise with an empty plan).
        #[arg(long)]
        demo: bool,
        /// Serve the web app from this folder (e.g. `dist` while developing) instead of the
        /// app built into this binary.
        #[arg(long)]
        app_dir: Option<PathBuf>,
        /// Largest sync message accepted, in bytes.
        #[arg(long, default_value_t = 8 << 20)]
        max_message_bytes: usize,
        /// Largest a plan's document may grow, in bytes.
        #[arg(long, default_value_t = 64 << 20)]
        max_document_bytes: usize,
        /// Sync messages per second allowed on one connection (bursts of two seconds).
        #[arg(long, default_value_t = 200)]
        max_messages_per_second: u32,
        /// Open sync connections allowed from one IP address.
        #[arg(long, default_value_t = 64)]
        max_connections_per_address: usize,
        /// A web origin (http://host:port) allowed to sync besides this server's own pages;
        /// repeat for several.
        #[arg(long)]
        allow_origin: Vec<String>,
        /// The address people open, for invitation links (e.g. http://192.168.1.20:8080);
        /// the listen address if absent.
        #[arg(long)]
        public_url: Option<String>,
        /// Unsent bytes a connection may hold before it is closed as not reading.
        #[arg(long, default_value_t = Limits::default().max_queued_bytes)]
        max_queued_bytes: usize,
        /// Open HTTP and WebSocket connections allowed from one IP address.
        #[arg(long, default_value_t = ConnectionLimits::default().per_address)]
        max_http_connections_per_address: usize,
        /// Open HTTP and WebSocket connections allowed in all (kept under the open-file limit).
        #[arg(long, default_value_t = ConnectionLimits::default().total)]
        max_http_connections: usize,
        /// Seconds a connection may take to send a request's headers.
        #[arg(long, default_value_t = ConnectionLimits::default().header_timeout.as_secs())]
        header_timeout_secs: u64,
        /// Seconds a request may take after its headers (its body included) before 408.
        #[arg(long, default_value_t = ConnectionLimits::default().request_timeout.as_secs())]
        request_timeout_secs: u64,
        /// Wrong invitation codes allowed from one IP address per 10 minutes.
        #[arg(long, default_value_t = JoinLimits::default().per_address)]
        max_wrong_codes_per_address: u32,
        /// Wrong invitation codes allowed from all addresses together per 10 minutes.
        #[arg(long, default_value_t = JoinLimits::default().total)]
        max_wrong_codes: u32,
        #[command(flatten)]
        import: ImportArgs,
        /// Relay the plans this server shares with an upstream server (the partnership's
        /// central server): http://HOST[:PORT]. Repeat for several, each with its token.
        #[arg(long)]
        upstream: Vec<String>,
        /// The participant token the relay uses on the upstream (from `plansync enroll`
        /// there), one per --upstream, in the same order.
        #[arg(long)]
        upstream_token: Vec<String>,
        /// Longest wait, in seconds, between attempts to reach an upstream that cannot be
        /// reached (plus up to half as much again, at random).
        #[arg(long, default_value_t = plansync_server::relay::MAX_BACKOFF.as_secs())]
        upstream_retry_secs: u64,
        #[command(flatten)]
        mail: MailArgs,
        /// A TOML file of the identity providers people may sign in with, one
        /// `[[provider]]` each (id, label, issuer, client_id, client_secret_file or
        /// client_secret_env, email_domains); needs --public-url. None in a room.
        #[arg(long)]
        sign_in_providers: Option<PathBuf>,
        /// How long a token from a sign-in lasts, in seconds (then the app asks to sign in
        /// again; a disabled account cannot).
        #[arg(long, default_value_t = plansync_server::signin::DEFAULT_SESSION_SECS)]
        sign_in_session_secs: u64,
        /// Threads that run the plans' sync work, however many plans are in use.
        #[arg(long, default_value_t = Limits::default().sync_threads)]
        sync_threads: usize,
    },
    /// Enrolls a server that will relay to this one (a workshop laptop) in a plan and prints
    /// its token, for `plansync pull` and `plansync serve --upstream-token` on that server.
    Enroll {
        #[command(flatten)]
        db: DbArgs,
        /// The plan's id.
        #[arg(long)]
        plan: String,
        /// What the relaying server is called; the history shows changes made on it "via"
        /// this name.
        #[arg(long)]
        name: String,
        /// Its role: editor (it sends changes) or viewer (it only receives).
        #[arg(long, value_enum, default_value = "editor")]
        role: RoleArg,
    },
    /// Fetches every plan an upstream server's token grants onto this server, with its
    /// snapshots and who made each change, before a day with no network.
    Pull {
        #[command(flatten)]
        db: DbArgs,
        /// The upstream server: http://HOST[:PORT].
        #[arg(long)]
        upstream: String,
        /// The participant token to use there (from `plansync enroll`).
        #[arg(long)]
        upstream_token: String,
    },
    /// Says what each relay has sent to its upstream: all changes sent, or how many wait.
    Status {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Prints an invitation link and code for a plan (the server may be running).
    Invite {
        #[command(flatten)]
        db: DbArgs,
        /// The plan's id (from the app's address bar or `/api/plans`).
        #[arg(long)]
        plan: String,
        /// The role the invitation gives.
        #[arg(long, value_enum, default_value = "editor")]
        role: RoleArg,
        /// How many people may join with it.
        #[arg(long, default_value_t = 1)]
        uses: i64,
        /// Hours until it expires.
        #[arg(long, default_value_t = 72)]
        expires_hours: i64,
        /// The server's address as people will open it.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
    },
    /// Names the plan as it is now ("Draft for Panel, January"); works while the server runs.
    Snapshot {
        #[command(flatten)]
        db: DbArgs,
        /// The plan's id.
        #[arg(long)]
        plan: String,
        /// The snapshot's name.
        #[arg(long)]
        name: String,
    },
    /// Writes an export of a plan (plan.html, plan.md, plan.docx, plan.pdf, tracker.csv,
    /// tracker.xlsx, exceptions.html, exceptions.docx, exceptions.pdf, workshop.html,
    /// workshop.docx, workshop.pdf, compare.html, compare.docx, compare.pdf, plan.json,
    /// plan.automerge); works while the server runs.
    Export {
        #[command(flatten)]
        db: DbArgs,
        /// The plan's id.
        #[arg(long)]
        plan: String,
        /// Which export, by file name.
        name: String,
        /// The plan as at this snapshot (by name) instead of now.
        #[arg(long)]
        at: Option<String>,
        /// For compare.html/.docx: the snapshot (by name) to compare from.
        #[arg(long)]
        from: Option<String>,
        /// For exception reports: the board (id); the whole partnership if absent.
        #[arg(long)]
        board: Option<String>,
        /// The reporting period, e.g. 2026-Q2 (now's if absent).
        #[arg(long)]
        period: Option<String>,
        /// Where to write it (default: the export's name in this folder).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
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
            db.location().describe(),
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

/// Threads for blocking work (storage, saving large plans): a bounded few, so a burst of
/// work across many plans queues instead of starting a thread each.
const BLOCKING_THREADS: usize = 16;

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // automerge instruments its loading with spans at INFO that format the
                // document's whole change graph: at INFO they were most of a busy server's CPU.
                .unwrap_or_else(|_| "info,tower_http=warn,automerge=warn".into()),
        )
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a log file holds plain lines.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match Cli::parse().command {
        Command::Serve {
            db,
            listen,
            demo,
            app_dir,
            max_message_bytes,
            max_document_bytes,
            max_messages_per_second,
            max_connections_per_address,
            allow_origin,
            public_url,
            max_queued_bytes,
            max_http_connections_per_address,
            max_http_connections,
            header_timeout_secs,
            request_timeout_secs,
            max_wrong_codes_per_address,
            max_wrong_codes,
            import,
            upstream,
            upstream_token,
            upstream_retry_secs,
            mail,
            sign_in_providers,
            sign_in_session_secs,
            sync_threads,
        } => {
            let mail = mail.settings()?;
            let sign_in = match &sign_in_providers {
                Some(file) => plansync_server::signin::SignIn::load(
                    file,
                    public_url.as_deref(),
                    sign_in_session_secs,
                )?,
                None => plansync_server::signin::SignIn::default(),
            };
            anyhow::ensure!(
                upstream.len() == upstream_token.len(),
                "give one --upstream-token for each --upstream (in the same order)"
            );
            let upstreams = upstream
                .iter()
                .zip(&upstream_token)
                .map(|(u, t)| plansync_server::relay::Upstream::new(u, t))
                .collect::<Result<Vec<_>, _>>()?;
            anyhow::ensure!(
                max_queued_bytes >= 64 << 10,
                "--max-queued-bytes must be at least 65536"
            );
            anyhow::ensure!(
                header_timeout_secs >= 1 && request_timeout_secs >= 1,
                "--header-timeout-secs and --request-timeout-secs must be at least 1"
            );
            if let Some(url) = &public_url {
                anyhow::ensure!(
                    url.starts_with("http://") || url.starts_with("https://"),
                    "--public-url must start with http:// or https://"
                );
            }
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("could not listen on {listen}: is another server using that port? Try --listen 127.0.0.1:0"))?;
            let addr = listener.local_addr()?;
            let connections = ConnectionLimits {
                per_address: max_http_connections_per_address.max(1),
                total: fit_to_file_limit(max_http_connections.max(1)),
                header_timeout: std::time::Duration::from_secs(header_timeout_secs),
                request_timeout: std::time::Duration::from_secs(request_timeout_secs),
            };
            let settings = Settings {
                max_message_bytes,
                max_document_bytes,
                max_messages_per_second,
                max_connections_per_address,
                allowed_origins: allow_origin,
                app_dir,
                max_queued_bytes,
                public_url,
                listen: addr,
                connections: connections.clone(),
                join: JoinLimits {
                    per_address: max_wrong_codes_per_address.max(1),
                    total: max_wrong_codes.max(1),
                    ..JoinLimits::default()
                },
                import: import.limits(),
                max_document_queue: Limits::default().max_document_queue,
                document_idle: Limits::default().document_idle,
                sync_threads: sync_threads.max(1),
                sends_reminders: mail.is_some(),
            };
            let location = db.location();
            let store = plansync_server::store::open(&location)
                .await
                .with_context(|| format!("could not open the database {}", location.describe()))?;
            // A new room server fetches its plans first (when it can reach the upstream), so
            // the owner links below are for them.
            if !upstreams.is_empty() && store.plans().await?.is_empty() {
                let sync =
                    plansync_server::SyncHandle::start(store.clone(), Limits::default()).await?;
                for up in &upstreams {
                    match plansync_server::relay::pull(&sync, &store, up).await {
                        Ok(p) => println!("Fetched {} plan(s) from {}.", p.plans.len(), up.url),
                        Err(e) => eprintln!(
                            "Could not fetch plans from {} yet ({e}); the relay keeps trying.",
                            up.url
                        ),
                    }
                }
            }
            let mut state =
                plansync_server::start_on(store, demo && upstreams.is_empty(), settings)
                    .await
                    .with_context(|| {
                        format!("could not start with the database {}", location.describe())
                    })?;
            state.sign_in = sign_in;
            let links = state.public_url(&Default::default());
            // 0.0.0.0 is no address to open: on this computer it is localhost.
            let local = if addr.ip().is_unspecified() {
                format!("http://127.0.0.1:{}/ on this computer", addr.port())
            } else {
                format!("http://{addr}/")
            };
            println!(
                "Plansync is running: open {local} (database: {})",
                location.describe()
            );
            for (i, room) in plansync_server::room_addresses(addr).iter().enumerate() {
                println!("Room address: {room} (people in the room open this)");
                if i == 0 {
                    println!("{}", plansync_server::qr_text(room));
                }
            }
            for (plan, inv) in plansync_server::owner_invitations(&state.store).await? {
                println!(
                    "Owner link for \"{}\" (works once, for 7 days): {} (code {})",
                    plan.title,
                    join_link(&links, &inv.code),
                    inv.code
                );
            }
            for up in upstreams {
                println!(
                    "Relaying to {} (plansync status shows what it has sent).",
                    up.url
                );
                plansync_server::relay::spawn(
                    state.sync.clone(),
                    state.store.clone(),
                    state.relays.clone(),
                    up,
                    std::time::Duration::from_secs(upstream_retry_secs),
                );
            }
            if let Some(mail) = mail {
                let url = mail.url.clone();
                plansync_server::mail::spawn(
                    state.sync.clone(),
                    state.store.clone(),
                    mail,
                    links.clone(),
                )?;
                println!("Reminders by email go through {url}.");
            }
            plansync_server::serve(listener, plansync_server::app(state), connections, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await;
            Ok(())
        }
        Command::Enroll {
            db,
            plan,
            name,
            role,
        } => {
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
        Command::Pull {
            db,
            upstream,
            upstream_token,
        } => {
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
                db.location().describe(),
                db.location().describe(),
                up.url
            );
            Ok(())
        }
        Command::Status { db } => {
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
        Command::Snapshot { db, plan, name } => {
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
        Command::Export {
            db,
            plan,
            name,
            at,
            from,
            board,
            period,
            out,
        } => {
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
        Command::Invite {
            db,
            plan,
            role,
            uses,
            expires_hours,
            url,
        } => {
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
    }
}
