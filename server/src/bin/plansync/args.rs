//! The command line: what each command takes.

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use plansync_server::{ConnectionLimits, ImportLimits, JoinLimits, Limits, Location, Role, Store};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Plansync: write and track one shared Police, Crime and Community Safety Plan together.
#[derive(Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// A role, as typed on the command line.
#[derive(Clone, Copy, ValueEnum)]
pub enum RoleArg {
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

/// How the log is written.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Lines for people.
    Text,
    /// One JSON object per line.
    Json,
}

/// Limits on tracker imports (a council tracker has hundreds of rows, not millions).
#[derive(clap::Args)]
pub struct ImportArgs {
    /// Rows a tracker import reads at most.
    #[arg(long, default_value_t = ImportLimits::default().max_rows)]
    pub max_import_rows: usize,
    /// Columns a tracker import reads at most.
    #[arg(long, default_value_t = ImportLimits::default().max_columns)]
    pub max_import_columns: usize,
    /// Non-empty cells a tracker import reads at most.
    #[arg(long, default_value_t = ImportLimits::default().max_cells)]
    pub max_import_cells: usize,
    /// Bytes an .xlsx tracker may unpack to at most.
    #[arg(long, default_value_t = ImportLimits::default().max_unpacked_bytes)]
    pub max_import_unpacked_bytes: u64,
}

impl ImportArgs {
    pub fn limits(&self) -> ImportLimits {
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
pub struct MailArgs {
    /// Send reminders through this mail server: smtp://[USER@]HOST[:PORT] (add
    /// ?tls=required for STARTTLS) or smtps://[USER@]HOST[:PORT]. Without it no email is sent.
    #[arg(long)]
    pub smtp_url: Option<String>,
    /// The address reminders come from, e.g. "Plansync <plans@council.gov.uk>".
    #[arg(long, requires = "smtp_url")]
    pub mail_from: Option<String>,
    /// A file holding the SMTP password (for the user in --smtp-url); or set
    /// PLANSYNC_SMTP_PASSWORD. Never give it on the command line.
    #[arg(long, requires = "smtp_url")]
    pub smtp_password_file: Option<PathBuf>,
    /// Seconds to wait for the mail server to connect or answer.
    #[arg(long, default_value_t = 30)]
    pub smtp_timeout_secs: u64,
    /// Seconds between looks at the plans for reminders due.
    #[arg(long, default_value_t = 60)]
    pub reminder_check_secs: u64,
    /// Seconds to wait after the mail server fails, doubled each time (up to an hour).
    #[arg(long, default_value_t = 60)]
    pub mail_retry_secs: u64,
}

impl MailArgs {
    /// The mail settings, if reminders are to be sent.
    pub fn settings(&self) -> anyhow::Result<Option<plansync_server::mail::MailSettings>> {
        let Some(url) = &self.smtp_url else {
            return Ok(None);
        };
        let from = self
            .mail_from
            .clone()
            .context("--smtp-url needs --mail-from: the address reminders come from")?;
        let password = match &self.smtp_password_file {
            Some(path) => Some(read_secret(path, "the SMTP password")?),
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

/// Reads a secret from its file (without the line end an editor adds).
pub fn read_secret(path: &std::path::Path, what: &str) -> anyhow::Result<String> {
    Ok(std::fs::read_to_string(path)
        .with_context(|| format!("could not read {what} from the file {}", path.display()))?
        .trim_end_matches(['\r', '\n'])
        .to_string())
}

/// Where the plans are kept.
#[derive(clap::Args)]
pub struct DbArgs {
    /// The SQLite file that holds the plans (created if missing).
    #[arg(long, default_value = "plansync.db", conflicts_with = "database")]
    pub db: PathBuf,
    /// The database instead of --db: sqlite://FILE, or postgres://USER@HOST[:PORT]/DATABASE
    /// for a central deployment (several servers on one database).
    #[arg(long, value_parser = Location::parse)]
    pub database: Option<Location>,
    /// A file holding the password of --database's user (or set
    /// PLANSYNC_DATABASE_PASSWORD), so it is in neither the URL, the command line nor the
    /// config file.
    #[arg(long, requires = "database")]
    pub database_password_file: Option<PathBuf>,
}

impl DbArgs {
    /// The database, with its password from its file or the environment.
    pub fn location(&self) -> anyhow::Result<Location> {
        let Some(location) = self.database.clone() else {
            return Ok(Location::Sqlite(self.db.clone()));
        };
        let password = match &self.database_password_file {
            Some(path) => Some(read_secret(path, "the database password")?),
            None => std::env::var("PLANSYNC_DATABASE_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty()),
        };
        match password {
            Some(p) => location.with_password(&p).map_err(anyhow::Error::msg),
            None => Ok(location),
        }
    }

    /// Opens the storage, saying which on failure.
    pub async fn open(&self) -> anyhow::Result<Store> {
        let location = self.location()?;
        plansync_server::store::open(&location)
            .await
            .with_context(|| format!("could not open the database {}", location.describe()))
    }
}

#[derive(Subcommand)]
// Parsed once at start: the size of the largest command does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Runs the sync server and the web app. Prints a one-time owner link for every plan
    /// that has no owner yet, unless one printed earlier still works.
    Serve(ServeArgs),
    /// Enrolls a server that will relay to this one (a workshop laptop) in a plan and prints
    /// its token, for `plansync pull` and `plansync serve --upstream-token` on that server.
    Enroll(EnrollArgs),
    /// Fetches every plan an upstream server's token grants onto this server, with its
    /// snapshots and who made each change, before a day with no network.
    Pull(PullArgs),
    /// Says what each relay has sent to its upstream: all changes sent, or how many wait.
    Status(StatusArgs),
    /// Prints an invitation link and code for a plan (the server may be running).
    Invite(InviteArgs),
    /// Names the plan as it is now ("Draft for Panel, January"); works while the server runs.
    Snapshot(SnapshotArgs),
    /// Writes an export of a plan (plan.html, plan.md, plan.docx, plan.pdf, tracker.csv,
    /// tracker.xlsx, exceptions.html, exceptions.docx, exceptions.pdf, workshop.html,
    /// workshop.docx, workshop.pdf, compare.html, compare.docx, compare.pdf, plan.json,
    /// plan.automerge); works while the server runs.
    Export(ExportArgs),
    /// Copies an SQLite database into a new backup file while the server runs (a
    /// consistent copy as at one moment); for PostgreSQL use pg_dump.
    Backup(BackupArgs),
    /// Puts a backup in place as the database; refuses while a server or command uses it,
    /// and keeps the database it replaces beside it.
    Restore(RestoreArgs),
    /// Checks a database or a backup: every page, the schema, and that every plan loads
    /// with its participants, snapshots and change authors; works while the server runs.
    Check(CheckArgs),
}

/// What `plansync backup` takes.
#[derive(clap::Args)]
pub struct BackupArgs {
    /// The SQLite database file to back up (the server's --db).
    #[arg(long, default_value = "plansync.db")]
    pub db: PathBuf,
    /// The new file to write the backup to (never overwritten).
    #[arg(long)]
    pub out: PathBuf,
}

/// What `plansync restore` takes.
#[derive(clap::Args)]
pub struct RestoreArgs {
    /// The backup file (from `plansync backup`).
    #[arg(long)]
    pub from: PathBuf,
    /// The SQLite database file to restore it as (the server's --db).
    #[arg(long, default_value = "plansync.db")]
    pub db: PathBuf,
}

/// What `plansync check` takes.
#[derive(clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub db: DbArgs,
}

/// What `plansync serve` takes.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// A TOML file of these settings, each key a flag's name without its dashes
    /// (listen = "0.0.0.0:8080", public-url = "https://plans.example.gov.uk",
    /// trusted-proxy = ["127.0.0.1"]); a flag given here wins over its key. Secrets go in
    /// files named by the *-file keys, never in this file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub db: DbArgs,
    /// Address and port to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Start a new database with the demo plan (otherwise with an empty plan).
    #[arg(long)]
    pub demo: bool,
    /// Serve the web app from this folder (e.g. `dist` while developing) instead of the
    /// app built into this binary.
    #[arg(long)]
    pub app_dir: Option<PathBuf>,
    /// Largest sync message accepted, in bytes.
    #[arg(long, default_value_t = 8 << 20)]
    pub max_message_bytes: usize,
    /// Largest a plan's document may grow, in bytes.
    #[arg(long, default_value_t = 64 << 20)]
    pub max_document_bytes: usize,
    /// Sync messages per second allowed on one connection (bursts of two seconds).
    #[arg(long, default_value_t = 200)]
    pub max_messages_per_second: u32,
    /// Open sync connections allowed from one IP address.
    #[arg(long, default_value_t = 64)]
    pub max_connections_per_address: usize,
    /// A web origin (http://host:port) allowed to sync besides this server's own pages;
    /// repeat for several.
    #[arg(long)]
    pub allow_origin: Vec<String>,
    /// The address people open, for invitation links (e.g. http://192.168.1.20:8080);
    /// the listen address if absent.
    #[arg(long)]
    pub public_url: Option<String>,
    /// Unsent bytes a connection may hold before it is closed as not reading.
    #[arg(long, default_value_t = Limits::default().max_queued_bytes)]
    pub max_queued_bytes: usize,
    /// Open HTTP and WebSocket connections allowed from one IP address.
    #[arg(long, default_value_t = ConnectionLimits::default().per_address)]
    pub max_http_connections_per_address: usize,
    /// Open HTTP and WebSocket connections allowed in all (kept under the open-file limit).
    #[arg(long, default_value_t = ConnectionLimits::default().total)]
    pub max_http_connections: usize,
    /// Seconds a connection may take to send a request's headers.
    #[arg(long, default_value_t = ConnectionLimits::default().header_timeout.as_secs())]
    pub header_timeout_secs: u64,
    /// Seconds a request may take after its headers (its body included) before 408.
    #[arg(long, default_value_t = ConnectionLimits::default().request_timeout.as_secs())]
    pub request_timeout_secs: u64,
    /// A proxy (nginx) in front of this server, by address or network (127.0.0.1,
    /// 10.0.0.0/8); repeat for several. Only for a connection from one is the client's
    /// address read from X-Forwarded-For, so every per-address limit counts real clients.
    #[arg(long, value_parser = plansync_server::TrustedProxies::parse_net)]
    pub trusted_proxy: Vec<ipnet::IpNet>,
    /// Wrong invitation codes allowed from one IP address per 10 minutes.
    #[arg(long, default_value_t = JoinLimits::default().per_address)]
    pub max_wrong_codes_per_address: u32,
    /// Wrong invitation codes allowed from all addresses together per 10 minutes.
    #[arg(long, default_value_t = JoinLimits::default().total)]
    pub max_wrong_codes: u32,
    #[command(flatten)]
    pub import: ImportArgs,
    /// Relay the plans this server shares with an upstream server (the partnership's
    /// central server): http://HOST[:PORT]. Repeat for several, each with its token.
    #[arg(long)]
    pub upstream: Vec<String>,
    /// The participant token the relay uses on the upstream (from `plansync enroll`
    /// there), one per --upstream, in the same order.
    #[arg(long)]
    pub upstream_token: Vec<String>,
    /// A file holding an upstream's token instead of --upstream-token (one per
    /// --upstream, in the same order), so it is in neither the command line nor the config
    /// file.
    #[arg(long, conflicts_with = "upstream_token")]
    pub upstream_token_file: Vec<PathBuf>,
    /// Longest wait, in seconds, between attempts to reach an upstream that cannot be
    /// reached (plus up to half as much again, at random).
    #[arg(long, default_value_t = plansync_server::relay::MAX_BACKOFF.as_secs())]
    pub upstream_retry_secs: u64,
    #[command(flatten)]
    pub mail: MailArgs,
    /// A TOML file of the identity providers people may sign in with, one
    /// `[[provider]]` each (id, label, issuer, client_id, client_secret_file or
    /// client_secret_env, email_domains); needs --public-url. None in a room.
    #[arg(long)]
    pub sign_in_providers: Option<PathBuf>,
    /// How long a token from a sign-in lasts, in seconds (then the app asks to sign in
    /// again; a disabled account cannot).
    #[arg(long, default_value_t = plansync_server::signin::DEFAULT_SESSION_SECS)]
    pub sign_in_session_secs: u64,
    /// Threads that run the plans' sync work, however many plans are in use.
    #[arg(long, default_value_t = Limits::default().sync_threads)]
    pub sync_threads: usize,
    /// Serve Prometheus metrics (GET /metrics, nothing else) on this separate address, e.g.
    /// 127.0.0.1:9464; keep it off the public network.
    #[arg(long)]
    pub metrics_listen: Option<SocketAddr>,
    /// A file holding a token that opens GET /metrics on the main port (Authorization:
    /// Bearer TOKEN); without it or --metrics-listen there are no metrics.
    #[arg(long)]
    pub metrics_token_file: Option<PathBuf>,
    /// How the log is written to stderr: text (lines for people) or json (one object per
    /// line, for a log shipper).
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Milliseconds a plan nobody changes or syncs stays in memory before it rests as its
    /// saved bytes (loaded again when next used); 0 keeps plans in memory.
    #[arg(long, default_value_t = plansync_shared::SERVER_REST_AFTER_MS)]
    pub plan_rest_ms: u64,
}

/// What `plansync enroll` takes.
#[derive(clap::Args)]
pub struct EnrollArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The plan's id.
    #[arg(long)]
    pub plan: String,
    /// What the relaying server is called; the history shows changes made on it "via"
    /// this name.
    #[arg(long)]
    pub name: String,
    /// Its role: editor (it sends changes) or viewer (it only receives).
    #[arg(long, value_enum, default_value = "editor")]
    pub role: RoleArg,
}

/// What `plansync pull` takes.
#[derive(clap::Args)]
pub struct PullArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The upstream server: http://HOST[:PORT].
    #[arg(long)]
    pub upstream: String,
    /// The participant token to use there (from `plansync enroll`).
    #[arg(long)]
    pub upstream_token: String,
}

/// What `plansync status` takes.
#[derive(clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub db: DbArgs,
}

/// What `plansync invite` takes.
#[derive(clap::Args)]
pub struct InviteArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The plan's id (from the app's address bar or `/api/plans`).
    #[arg(long)]
    pub plan: String,
    /// The role the invitation gives.
    #[arg(long, value_enum, default_value = "editor")]
    pub role: RoleArg,
    /// How many people may join with it.
    #[arg(long, default_value_t = 1)]
    pub uses: i64,
    /// Hours until it expires.
    #[arg(long, default_value_t = 72)]
    pub expires_hours: i64,
    /// The server's address as people will open it.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
}

/// What `plansync snapshot` takes.
#[derive(clap::Args)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The plan's id.
    #[arg(long)]
    pub plan: String,
    /// The snapshot's name.
    #[arg(long)]
    pub name: String,
}

/// What `plansync export` takes.
#[derive(clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The plan's id.
    #[arg(long)]
    pub plan: String,
    /// Which export, by file name.
    pub name: String,
    /// The plan as at this snapshot (by name) instead of now.
    #[arg(long)]
    pub at: Option<String>,
    /// For compare.html/.docx: the snapshot (by name) to compare from.
    #[arg(long)]
    pub from: Option<String>,
    /// For exception reports: the board (id); the whole partnership if absent.
    #[arg(long)]
    pub board: Option<String>,
    /// The reporting period, e.g. 2026-Q2 (now's if absent).
    #[arg(long)]
    pub period: Option<String>,
    /// Where to write it (default: the export's name in this folder).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}
