//! What a running server counts, for Prometheus (`GET /metrics`, OpenMetrics text): one
//! set of metrics for the process, counted where things happen, plus gauges read from the
//! sync service and the relays when scraped. Counts only: plans by id, never a person.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::LazyLock;
use std::time::Duration;

/// A plan, by id.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PlanLabel {
    /// The plan's id.
    pub plan: String,
}

/// Which way sync traffic went.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Direction {
    /// From peers to this server.
    In,
    /// From this server to peers.
    Out,
}

/// A direction, as a label: `in` or `out`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DirectionLabel {
    /// Which way.
    pub direction: &'static str,
}

/// Why a connection was refused or closed by the server.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Refusal {
    /// Too many open connections from one address (the connection layer or the sync cap).
    PerAddress,
    /// Too many open connections in all.
    Total,
    /// A page from a web origin not allowed to sync.
    Origin,
    /// No valid participant token.
    Token,
    /// More sync messages per second than allowed.
    Rate,
    /// A message over the size limit.
    TooBig,
    /// A client that stopped reading.
    SlowReader,
}

impl Refusal {
    /// The reason as its label value.
    fn as_str(self) -> &'static str {
        match self {
            Refusal::PerAddress => "per_address",
            Refusal::Total => "total",
            Refusal::Origin => "origin",
            Refusal::Token => "token",
            Refusal::Rate => "rate",
            Refusal::TooBig => "too_big",
            Refusal::SlowReader => "slow_reader",
        }
    }
}

/// A refusal, as a label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabel {
    /// Why (`per_address`, `total`, `origin`, `token`, `rate`, `too_big`, `slow_reader`).
    pub reason: &'static str,
}

/// An upstream server, by address.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamLabel {
    /// Its address (`http://HOST:PORT`, no token).
    pub upstream: String,
}

/// An export, by file name.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ExportLabel {
    /// `plan.pdf`, `tracker.xlsx`...
    pub export: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Seconds from 1 ms to about 33 s.
fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// Every metric the server keeps.
pub struct Metrics {
    registry: Registry,
    /// Open sync WebSocket connections.
    pub sockets: Gauge,
    /// Plans in use (their sync actor running).
    pub plans_open: Gauge,
    /// Participants connected, per plan.
    pub participants: Family<PlanLabel, Gauge>,
    /// Sync messages in and out.
    pub messages: Family<DirectionLabel, Counter>,
    /// Sync bytes in and out.
    pub bytes: Family<DirectionLabel, Counter>,
    /// The four series of `messages` and `bytes`, taken once: every frame counts without a
    /// lookup (messages in, messages out, bytes in, bytes out).
    traffic: [Counter; 4],
    /// How long storing a batch of changes took.
    pub persist_seconds: Histogram,
    /// Commands queued for the plans' sync actors, in all.
    pub queue_depth: Gauge,
    /// Commands queued for the busiest plan's actor.
    pub queue_depth_max: Gauge,
    /// Times a sender waited because a plan's queue was full (flow control).
    pub flow_control_waits: Counter,
    /// Connections refused or closed by the server, by reason.
    pub refused: Family<RefusalLabel, Counter>,
    /// Whether each upstream relay is connected (1) or not (0).
    pub relay_connected: Family<UpstreamLabel, Gauge>,
    /// When each upstream was last reached, in seconds since 1970.
    pub relay_last_reached: Family<UpstreamLabel, Gauge<f64, AtomicU64>>,
    /// Changes each upstream does not have yet, over all its plans.
    pub relay_changes_waiting: Family<UpstreamLabel, Gauge>,
    /// How long tracker and plan imports took.
    pub import_seconds: Histogram,
    /// How long exports took, by export.
    pub export_seconds: Histograms<ExportLabel>,
}

impl Metrics {
    fn new() -> Self {
        let mut m = Self {
            registry: Registry::with_prefix("plansync"),
            sockets: Gauge::default(),
            plans_open: Gauge::default(),
            participants: Family::default(),
            messages: Family::default(),
            bytes: Family::default(),
            traffic: Default::default(),
            persist_seconds: seconds(),
            queue_depth: Gauge::default(),
            queue_depth_max: Gauge::default(),
            flow_control_waits: Counter::default(),
            refused: Family::default(),
            relay_connected: Family::default(),
            relay_last_reached: Family::default(),
            relay_changes_waiting: Family::default(),
            import_seconds: seconds(),
            export_seconds: Family::new_with_constructor(seconds),
        };
        let series = |family: &Family<DirectionLabel, Counter>, direction| {
            family.get_or_create(&DirectionLabel { direction }).clone()
        };
        m.traffic = [
            series(&m.messages, "in"),
            series(&m.messages, "out"),
            series(&m.bytes, "in"),
            series(&m.bytes, "out"),
        ];
        let r = &mut m.registry;
        r.register(
            "sync_sockets",
            "Open sync WebSocket connections",
            m.sockets.clone(),
        );
        r.register(
            "plans_open",
            "Plans in use (their sync actor running)",
            m.plans_open.clone(),
        );
        r.register(
            "plan_participants",
            "Participants connected, per plan",
            m.participants.clone(),
        );
        r.register(
            "sync_messages",
            "Sync messages, in from peers and out to them",
            m.messages.clone(),
        );
        r.register(
            "sync_bytes",
            "Sync bytes, in from peers and out to them",
            m.bytes.clone(),
        );
        r.register(
            "persist_seconds",
            "Time to store a batch of changes durably",
            m.persist_seconds.clone(),
        );
        r.register(
            "sync_queue_depth",
            "Commands queued for the plans' sync actors, in all",
            m.queue_depth.clone(),
        );
        r.register(
            "sync_queue_depth_max",
            "Commands queued for the busiest plan's sync actor",
            m.queue_depth_max.clone(),
        );
        r.register(
            "flow_control_waits",
            "Times a sender waited for a full plan queue",
            m.flow_control_waits.clone(),
        );
        r.register(
            "refused_connections",
            "Connections refused or closed by the server, by reason",
            m.refused.clone(),
        );
        r.register(
            "relay_connected",
            "Whether the relay to each upstream is connected",
            m.relay_connected.clone(),
        );
        r.register(
            "relay_last_reached_timestamp_seconds",
            "When each upstream was last reached",
            m.relay_last_reached.clone(),
        );
        r.register(
            "relay_changes_waiting",
            "Changes each upstream does not have yet",
            m.relay_changes_waiting.clone(),
        );
        r.register(
            "import_seconds",
            "Time to import a plan or a tracker",
            m.import_seconds.clone(),
        );
        r.register(
            "export_seconds",
            "Time to make an export, by export",
            m.export_seconds.clone(),
        );
        m
    }

    /// The metrics in OpenMetrics text, as Prometheus scrapes them.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Counts a refused connection.
    pub fn refuse(&self, reason: Refusal) {
        self.refused
            .get_or_create(&RefusalLabel {
                reason: reason.as_str(),
            })
            .inc();
    }

    /// Counts a sync message.
    pub fn message(&self, direction: Direction, bytes: usize) {
        let (messages, bytes_of) = match direction {
            Direction::In => (&self.traffic[0], &self.traffic[2]),
            Direction::Out => (&self.traffic[1], &self.traffic[3]),
        };
        messages.inc();
        bytes_of.inc_by(bytes as u64);
    }

    /// Records how long an export took.
    pub fn exported(&self, export: &str, took: Duration) {
        self.export_seconds
            .get_or_create(&ExportLabel {
                export: export.to_string(),
            })
            .observe(took.as_secs_f64());
    }
}

/// Observes the time from its making to its drop in a histogram (however the work ends).
pub struct Timer {
    histogram: Histogram,
    started: std::time::Instant,
}

impl Timer {
    /// Starts timing into `histogram`.
    pub fn new(histogram: &Histogram) -> Self {
        Self {
            histogram: histogram.clone(),
            started: std::time::Instant::now(),
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.histogram.observe(self.started.elapsed().as_secs_f64());
    }
}

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}
