//! `plansync serve`: the sync server and the web app.

use crate::args::ServeArgs;
use anyhow::Context;
use plansync_server::relay::Upstream;
use plansync_server::{
    fit_to_file_limit, join_link, AppState, ConnectionLimits, JoinLimits, Limits, Location,
    OwnerLink, Settings, Store,
};
use std::net::SocketAddr;

/// Runs the server until Ctrl-C.
pub async fn serve(a: ServeArgs) -> anyhow::Result<()> {
    crate::memory::trim_freed_memory();
    let mail = a.mail.settings()?;
    let sign_in = match &a.sign_in_providers {
        Some(file) => plansync_server::signin::SignIn::load(
            file,
            a.public_url.as_deref(),
            a.sign_in_session_secs,
        )?,
        None => plansync_server::signin::SignIn::default(),
    };
    let upstreams = upstreams(&a)?;
    check(&a)?;
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .with_context(|| {
            format!(
                "could not listen on {}: is another server using that port? Try --listen 127.0.0.1:0",
                a.listen
            )
        })?;
    let addr = listener.local_addr()?;
    let metrics_token = a
        .metrics_token_file
        .as_ref()
        .map(|f| crate::args::read_secret(f, "the metrics token"))
        .transpose()?;
    if let Some(t) = &metrics_token {
        anyhow::ensure!(
            t.len() >= 16,
            "the metrics token must be at least 16 characters (e.g. from: openssl rand -hex 32)"
        );
    }
    let metrics_listener = match a.metrics_listen {
        Some(at) => Some(tokio::net::TcpListener::bind(at).await.with_context(|| {
            format!("could not listen for metrics on {at}: is another program using that port?")
        })?),
        None => None,
    };
    let settings = settings(
        &a,
        addr,
        mail.is_some(),
        metrics_token.as_deref().map(plansync_server::hash_token),
    );
    let connections = settings.connections.clone();
    let location = a.db.location()?;
    let store = a.db.open().await?;
    fetch_first(&store, &upstreams).await?;
    let mut state = plansync_server::start_on(store, a.demo && upstreams.is_empty(), settings)
        .await
        .with_context(|| format!("could not start with the database {}", location.describe()))?;
    state.sign_in = sign_in;
    announce(&state, addr, &location).await?;
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
            std::time::Duration::from_secs(a.upstream_retry_secs),
        );
    }
    if let Some(listener) = metrics_listener {
        println!(
            "Metrics for Prometheus: http://{}/metrics",
            listener.local_addr()?
        );
        let app = plansync_server::metrics_app(state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "the metrics address stopped");
            }
        });
    }
    if let Some(mail) = mail {
        let url = mail.url.clone();
        let links = state.public_url(&Default::default());
        plansync_server::mail::spawn(state.sync.clone(), state.store.clone(), mail, links)?;
        println!("Reminders by email go through {url}.");
    }
    plansync_server::serve(
        listener,
        plansync_server::app(state),
        connections,
        stopped(),
    )
    .await;
    Ok(())
}

/// Resolves when the server is asked to stop: Ctrl-C, or SIGTERM (`systemctl stop`).
async fn stopped() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch for SIGTERM; stop the server with Ctrl-C");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("stopping: asked to");
}

/// The upstream servers to relay to, each with its token.
fn upstreams(a: &ServeArgs) -> anyhow::Result<Vec<Upstream>> {
    let tokens = if a.upstream_token_file.is_empty() {
        a.upstream_token.clone()
    } else {
        a.upstream_token_file
            .iter()
            .map(|f| crate::args::read_secret(f, "an upstream token"))
            .collect::<anyhow::Result<_>>()?
    };
    anyhow::ensure!(
        a.upstream.len() == tokens.len(),
        "give one --upstream-token (or --upstream-token-file) for each --upstream (in the same order)"
    );
    Ok(a.upstream
        .iter()
        .zip(&tokens)
        .map(|(u, t)| Upstream::new(u, t))
        .collect::<Result<Vec<_>, _>>()?)
}

/// Refuses settings that cannot work.
fn check(a: &ServeArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.max_queued_bytes >= 64 << 10,
        "--max-queued-bytes must be at least 65536"
    );
    anyhow::ensure!(
        a.header_timeout_secs >= 1 && a.request_timeout_secs >= 1,
        "--header-timeout-secs and --request-timeout-secs must be at least 1"
    );
    if let Some(url) = &a.public_url {
        anyhow::ensure!(
            url.starts_with("http://") || url.starts_with("https://"),
            "--public-url must start with http:// or https://"
        );
    }
    Ok(())
}

/// The server's settings from the command line, listening at `addr`.
fn settings(
    a: &ServeArgs,
    addr: SocketAddr,
    sends_reminders: bool,
    metrics_token_hash: Option<String>,
) -> Settings {
    Settings {
        metrics_token_hash,
        max_message_bytes: a.max_message_bytes,
        max_document_bytes: a.max_document_bytes,
        max_messages_per_second: a.max_messages_per_second,
        max_connections_per_address: a.max_connections_per_address,
        allowed_origins: a.allow_origin.clone(),
        app_dir: a.app_dir.clone(),
        max_queued_bytes: a.max_queued_bytes,
        public_url: a.public_url.clone(),
        listen: addr,
        connections: ConnectionLimits {
            per_address: a.max_http_connections_per_address.max(1),
            total: fit_to_file_limit(a.max_http_connections.max(1)),
            header_timeout: std::time::Duration::from_secs(a.header_timeout_secs),
            request_timeout: std::time::Duration::from_secs(a.request_timeout_secs),
            trusted_proxies: plansync_server::TrustedProxies::new(a.trusted_proxy.clone()),
        },
        join: JoinLimits {
            per_address: a.max_wrong_codes_per_address.max(1),
            total: a.max_wrong_codes.max(1),
            ..JoinLimits::default()
        },
        import: a.import.limits(),
        max_document_queue: Limits::default().max_document_queue,
        document_idle: Limits::default().document_idle,
        sync_threads: a.sync_threads.max(1),
        document_rest: (a.plan_rest_ms > 0)
            .then(|| std::time::Duration::from_millis(a.plan_rest_ms)),
        sends_reminders,
    }
}

/// A new room server fetches its plans first (when it can reach the upstream), so the
/// owner links printed next are for them.
async fn fetch_first(store: &Store, upstreams: &[Upstream]) -> anyhow::Result<()> {
    if upstreams.is_empty() || !store.plans().await?.is_empty() {
        return Ok(());
    }
    let sync = plansync_server::SyncHandle::start(store.clone(), Limits::default()).await?;
    for up in upstreams {
        match plansync_server::relay::pull(&sync, store, up).await {
            Ok(p) => println!("Fetched {} plan(s) from {}.", p.plans.len(), up.url),
            Err(e) => eprintln!(
                "Could not fetch plans from {} yet ({e}); the relay keeps trying.",
                up.url
            ),
        }
    }
    Ok(())
}

/// Prints where the server runs, the room addresses and the owner links of plans with no
/// owner yet.
async fn announce(state: &AppState, addr: SocketAddr, location: &Location) -> anyhow::Result<()> {
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
    for (plan, link) in plansync_server::owner_invitations(&state.store).await? {
        match link {
            OwnerLink::Made(inv) => println!(
                "Owner link for \"{}\" (works once, for 7 days): {} (code {})",
                plan.title,
                join_link(&links, &inv.code),
                inv.code
            ),
            _ => println!(
                "\"{}\" has no owner yet and an owner link printed earlier (by this or another server of the same database) still works; for another: plansync invite --plan {} --role owner{}",
                plan.title,
                plan.id,
                location.flag()
            ),
        }
    }
    Ok(())
}
