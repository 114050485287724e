//! `plansync`: the command line.

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Plansync: write and track one shared Police, Crime and Community Safety Plan together.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the sync server and the web app.
    Serve {
        /// The SQLite file that holds the plans (created if missing).
        #[arg(long, default_value = "plansync.db")]
        db: PathBuf,
        /// Address and port to listen on (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Create the demo plan if the database has no plans.
        #[arg(long)]
        demo: bool,
        /// Folder of the built web app.
        #[arg(long, default_value = "dist")]
        app_dir: PathBuf,
        /// Largest sync message accepted, in bytes.
        #[arg(long, default_value_t = 8 << 20)]
        max_message_bytes: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve {
            db,
            listen,
            demo,
            app_dir,
            max_message_bytes,
        } => {
            let state = plansync_server::start(&db, demo, max_message_bytes, app_dir)
                .await
                .with_context(|| format!("could not start with the database {}", db.display()))?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("could not listen on {listen}: is another server using that port? Try --listen 127.0.0.1:0"))?;
            let addr = listener.local_addr()?;
            println!(
                "Plansync is running: open http://{addr}/ (database: {})",
                db.display()
            );
            axum::serve(listener, plansync_server::app(state))
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await?;
            Ok(())
        }
    }
}
