//! `plansync`: the command line, one function per command.

mod args;
mod backup;
mod config;
mod memory;
mod serve;
mod shell;

use args::Command;

/// Threads for blocking work (storage, saving large plans): a bounded few, so a burst of
/// work across many plans queues instead of starting a thread each.
const BLOCKING_THREADS: usize = 16;

fn main() -> anyhow::Result<()> {
    memory::tune();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let cli = config::parse()?;
    let json = matches!(&cli.command, Command::Serve(a) if a.log_format == args::LogFormat::Json);
    logging(json);
    match cli.command {
        Command::Serve(a) => serve::serve(a).await,
        Command::Enroll(a) => shell::enroll(a).await,
        Command::Pull(a) => shell::pull(a).await,
        Command::Status(a) => shell::status(a).await,
        Command::Snapshot(a) => shell::snapshot(a).await,
        Command::Export(a) => shell::export(a).await,
        Command::Invite(a) => shell::invite(a).await,
        Command::Backup(a) => backup::backup(a).await,
        Command::Restore(a) => backup::restore(a).await,
        Command::Check(a) => backup::check(a).await,
    }
}

/// Logs to stderr: lines for people, or one JSON object per line for a log shipper.
fn logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        // automerge instruments its loading with spans at INFO that format the document's
        // whole change graph: at INFO they were most of a busy server's CPU.
        .unwrap_or_else(|_| "info,tower_http=warn,automerge=warn".into());
    let log = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        log.json().init();
    } else {
        // Colours only on a terminal: a log file holds plain lines.
        log.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
}
