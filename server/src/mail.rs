//! Email reminders: a task that, on a server given mail settings, looks at each plan's
//! open round now and then and emails the people shared/'s rules name. Each reminder goes
//! once: the store hands its key to exactly one node, which sends it. A mail server that
//! is down, refuses or never answers is retried with backoff and logged; sending runs on
//! its own task with bounded timeouts, so sync and HTTP never wait for it.

use crate::store::Store;
use crate::sync::SyncHandle;
use futures_util::StreamExt;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use plansync_shared::{
    compose, due_reminder, read_plan, read_rounds, recipients, reminder_key, DocumentId, Plan,
    Recipient, Round,
};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Reminders taken from the store and sent in one go: what one batch holds in memory.
pub const BATCH: usize = 100;
/// Reminders sent at once (each over its own connection from the pool).
const SENDS_AT_ONCE: usize = 8;
/// How long a node holds the reminders it took before another may take them (a sender
/// that stopped half way): longer than a batch can take.
const HOLD: Duration = Duration::from_secs(15 * 60);
/// The longest wait between tries of a mail server that is down.
const MAX_BACKOFF: Duration = Duration::from_secs(60 * 60);
/// How long a plan whose reminders are all sent is left alone before it is looked at again
/// (an address given late still gets its reminder).
const RECHECK: Duration = Duration::from_secs(60 * 60);

/// Why mail settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The settings are wrong; the text says how to put them right.
    #[error("{0}")]
    Settings(String),
}

/// Where and how reminders are sent: `--smtp-url`, `--mail-from` and the password from a
/// file or the environment (never a command-line value, which `ps` shows).
#[derive(Clone)]
pub struct MailSettings {
    /// `smtp://[USER@]HOST[:PORT]` (add `?tls=required` for STARTTLS) or `smtps://...`.
    pub url: String,
    /// The sender, `plans@council.gov.uk` or `Plansync <plans@council.gov.uk>`.
    pub from: String,
    /// The SMTP password for the user in the URL, if the mail server wants one.
    pub password: Option<String>,
    /// Longest wait for the mail server to connect or answer.
    pub timeout: Duration,
    /// How often the plans are looked at for reminders due.
    pub check_every: Duration,
    /// The first wait after a failed try; doubled each time, up to an hour.
    pub retry: Duration,
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("url", &self.url)
            .field("from", &self.from)
            .field("password", &self.password.as_ref().map(|_| "(set)"))
            .finish_non_exhaustive()
    }
}

/// The user name in `smtp://USER@HOST`, if any; an error for a password in the URL.
fn url_user(url: &str) -> Result<Option<String>, MailError> {
    let rest = url
        .strip_prefix("smtp://")
        .or_else(|| url.strip_prefix("smtps://"))
        .ok_or_else(|| {
            MailError::Settings(format!(
                "--smtp-url {url} is not an SMTP address: give smtp://HOST:PORT (add ?tls=required for STARTTLS) or smtps://HOST:PORT"
            ))
        })?;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let Some((user, _)) = authority.rsplit_once('@') else {
        return Ok(None);
    };
    if user.contains(':') {
        return Err(MailError::Settings(
            "--smtp-url has a password in it, which anyone can read in the process list: \
             leave it out and put it in a file named by --smtp-password-file or in PLANSYNC_SMTP_PASSWORD"
                .into(),
        ));
    }
    Ok(Some(user.to_string()))
}

/// Sends reminders over one SMTP server.
struct Sender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    timeout: Duration,
}

/// How a send failed.
enum SendError {
    /// This message cannot go (a refused address, say): try it again much later.
    Message(String),
    /// The mail server is down, refused or did not answer: stop and back off.
    Server(String),
}

impl Sender {
    fn new(settings: &MailSettings) -> Result<Self, MailError> {
        let user = url_user(&settings.url)?;
        let from: Mailbox = settings.from.parse().map_err(|e| {
            MailError::Settings(format!(
                "--mail-from {} is not an address mail can come from ({e}): give one like plans@council.gov.uk",
                settings.from
            ))
        })?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.url)
            .map_err(|e| {
                MailError::Settings(format!(
                    "--smtp-url {} cannot be used ({e}): give smtp://HOST:PORT or smtps://HOST:PORT",
                    settings.url
                ))
            })?
            .timeout(Some(settings.timeout))
            .pool_config(PoolConfig::new().max_size(SENDS_AT_ONCE as u32));
        match (user, &settings.password) {
            (Some(user), Some(password)) => {
                builder = builder.credentials(Credentials::new(user, password.clone()));
            }
            (None, Some(_)) => {
                return Err(MailError::Settings(
                    "an SMTP password was given but --smtp-url names no user: give smtp://USER@HOST:PORT".into(),
                ))
            }
            (Some(user), None) => {
                return Err(MailError::Settings(format!(
                    "--smtp-url names the user {user} but no password was given: put it in a file named by --smtp-password-file or in PLANSYNC_SMTP_PASSWORD"
                )))
            }
            (None, None) => {}
        }
        Ok(Self {
            transport: builder.build(),
            from,
            timeout: settings.timeout,
        })
    }

    async fn send(&self, to: &str, subject: String, body: String) -> Result<(), SendError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| SendError::Message(format!("the address cannot be used: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| SendError::Message(format!("the message could not be made: {e}")))?;
        // lettre's timeout covers each step; this bounds the whole exchange too.
        match tokio::time::timeout(self.timeout * 3, self.transport.send(message)).await {
            Err(_) => Err(SendError::Server(format!(
                "the mail server did not finish within {} seconds",
                (self.timeout * 3).as_secs()
            ))),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) if e.is_permanent() => Err(SendError::Message(e.to_string())),
            Ok(Err(e)) => Err(SendError::Server(e.to_string())),
        }
    }
}

/// Checks the mail settings and starts sending reminders on its own task. `public_url` is
/// the address the plan links in reminders start with.
pub fn spawn(
    sync: SyncHandle,
    store: Store,
    settings: MailSettings,
    public_url: String,
) -> Result<tokio::task::JoinHandle<()>, MailError> {
    let sender = Sender::new(&settings)?;
    let mut reminders = Reminders {
        sync,
        store,
        sender,
        public_url: public_url.trim_end_matches('/').to_string(),
        retry: settings.retry.max(Duration::from_millis(100)),
        failures: 0,
        paused_until: None,
        done: HashMap::new(),
    };
    let every = settings.check_every.max(Duration::from_millis(100));
    Ok(tokio::spawn(async move {
        loop {
            reminders.tick().await;
            tokio::time::sleep(every).await;
        }
    }))
}

/// The reminder task's state.
struct Reminders {
    sync: SyncHandle,
    store: Store,
    sender: Sender,
    public_url: String,
    retry: Duration,
    /// Failed tries of the mail server in a row.
    failures: u32,
    /// No sending until then, after the mail server failed.
    paused_until: Option<Instant>,
    /// Reminder points (plan, round, day) found all sent, and when.
    done: HashMap<String, Instant>,
}

/// Milliseconds since 1970 of a moment `after` from now.
fn ms_after(after: Duration) -> i64 {
    crate::now_ms() + after.as_millis() as i64
}

impl Reminders {
    /// The wait after the mail server failed `failures` times in a row.
    fn backoff(&self) -> Duration {
        let doubled = self.retry.saturating_mul(1 << self.failures.min(16));
        doubled.min(MAX_BACKOFF)
    }

    /// Looks at every plan once.
    async fn tick(&mut self) {
        match self.paused_until {
            Some(t) if Instant::now() < t => return,
            _ => self.paused_until = None,
        }
        self.done.retain(|_, at| at.elapsed() < RECHECK);
        let plans = match self.store.plans().await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "reminders: could not list the plans; trying again later");
                return;
            }
        };
        // Today's date (UTC), as the document writes dates.
        let today = plansync_shared::date_of_ms(crate::now_ms());
        for row in plans {
            if let Err(e) = self.remind(&row.id, &today).await {
                tracing::warn!(plan = %row.id, error = %e, "reminders: could not send this plan's reminders; trying again later");
            }
            if self.paused_until.is_some() {
                return;
            }
        }
    }

    /// Sends the reminders due today for one plan's open round.
    async fn remind(&mut self, plan: &str, today: &str) -> anyhow::Result<()> {
        let Ok(id) = plan.parse::<DocumentId>() else {
            return Ok(());
        };
        let Some(doc) = self.sync.document(id).await? else {
            return Ok(());
        };
        // Each open round's reminder due today (a plan may have rounds for two periods
        // open), less those found all sent a while ago.
        let point = |r: &Round, days: u32| format!("{plan}/{}/{days}", r.id);
        let due: Vec<(Round, u32)> = read_rounds(&doc)?
            .into_iter()
            .filter_map(|r| due_reminder(&r, today).map(|d| (r, d)))
            .filter(|(r, d)| !self.done.contains_key(&point(r, *d)))
            .collect();
        if due.is_empty() {
            return Ok(());
        }
        let emails = self.store.emails(plan.to_string()).await?;
        if !emails.iter().any(|e| e.reminders) {
            return Ok(());
        }
        let links = self.store.person_links(plan.to_string()).await?;
        // Reading the plan and matching thousands of people to its actions is CPU work: off
        // the runtime's threads.
        type Due = Vec<(Round, u32, Vec<Recipient>)>;
        let (plan_read, due) =
            tokio::task::spawn_blocking(move || -> anyhow::Result<(Plan, Due)> {
                let p = read_plan(&doc)?;
                let due = due
                    .into_iter()
                    .map(|(r, d)| {
                        let to = recipients(&p, &r, &links, &emails);
                        (r, d, to)
                    })
                    .collect();
                Ok((p, due))
            })
            .await??;
        let url = format!("{}/#/plan/{plan}", self.public_url);
        for (round, days, to) in due {
            let mut all_settled = true;
            for batch in to.chunks(BATCH) {
                match self
                    .send_batch(plan, &plan_read, &round, days, batch, &url)
                    .await?
                {
                    Batch::Settled => {}
                    Batch::Left => all_settled = false,
                    Batch::Stopped => return Ok(()),
                }
            }
            if all_settled {
                self.done.insert(point(&round, days), Instant::now());
            }
        }
        Ok(())
    }

    /// Takes and sends one batch.
    async fn send_batch(
        &mut self,
        plan: &str,
        plan_read: &Plan,
        round: &Round,
        days: u32,
        batch: &[Recipient],
        url: &str,
    ) -> anyhow::Result<Batch> {
        let keys: Vec<(String, i64)> = batch
            .iter()
            .map(|r| {
                (
                    reminder_key(plan, round, days, r.participant),
                    r.participant,
                )
            })
            .collect();
        let taken = self
            .store
            .take_reminders(plan.to_string(), keys, crate::now_ms(), ms_after(HOLD))
            .await?;
        if taken.is_empty() {
            return Ok(Batch::Settled);
        }
        let mine: Vec<(String, &Recipient)> = batch
            .iter()
            .map(|r| (reminder_key(plan, round, days, r.participant), r))
            .filter(|(k, _)| taken.contains(k))
            .collect();
        // A few at once over the pool's connections: each message waits on the mail
        // server's answers, not on this machine.
        let sender = &self.sender;
        let mut queue = mine.iter();
        let mut results = futures_util::stream::FuturesUnordered::new();
        for (key, r) in queue.by_ref().take(SENDS_AT_ONCE) {
            results.push(send_one(sender, key, r, compose(plan_read, round, r, url)));
        }
        let mut sent = Vec::new();
        let mut refused = Vec::new();
        let mut down = None;
        while let Some((key, r, result)) = results.next().await {
            if let Some((key, r)) = queue.next() {
                results.push(send_one(sender, key, r, compose(plan_read, round, r, url)));
            }
            match result {
                Ok(()) => sent.push(key.clone()),
                Err(SendError::Message(e)) => {
                    tracing::warn!(plan, participant = r.participant, error = %e, "reminders: the mail server refused a reminder; it is tried again later");
                    refused.push((key.clone(), e));
                }
                Err(SendError::Server(e)) => {
                    down = Some(e);
                    break;
                }
            }
        }
        // Stopping here drops the sends still under way: their reminders wait too.
        drop(results);
        let mut outcome = Batch::Settled;
        for (key, e) in refused {
            self.store
                .reminder_retry(key, ms_after(MAX_BACKOFF), Some(e))
                .await?;
            outcome = Batch::Left;
        }
        if let Some(e) = down {
            let wait = self.backoff();
            self.failures = self.failures.saturating_add(1);
            self.paused_until = Some(Instant::now() + wait);
            tracing::warn!(error = %e, retry_in_secs = wait.as_secs(), "reminders: the mail server could not take a reminder; trying again later");
            // A mail server that is down is no fault of the reminder: no try counts, so it
            // goes when the server is back, however long that takes.
            let at = ms_after(wait);
            for (key, _) in &mine {
                if !sent.contains(key) {
                    self.store.reminder_retry(key.clone(), at, None).await?;
                }
            }
            outcome = Batch::Stopped;
        } else if !sent.is_empty() {
            self.failures = 0;
        }
        let count = sent.len();
        self.store.reminders_sent(sent, crate::now_ms()).await?;
        if count > 0 {
            tracing::info!(plan, count, round = %round.period, "reminders sent");
        }
        if matches!(outcome, Batch::Stopped) {
            return Ok(outcome);
        }
        self.paused_until = None;
        Ok(outcome)
    }
}

/// Sends one reminder; its key and recipient come back with the result.
async fn send_one<'a>(
    sender: &Sender,
    key: &'a String,
    r: &'a Recipient,
    mail: plansync_shared::ReminderMail,
) -> (&'a String, &'a Recipient, Result<(), SendError>) {
    (key, r, sender.send(&r.email, mail.subject, mail.body).await)
}

/// How a batch ended.
enum Batch {
    /// Every reminder in it is sent, or another node holds it.
    Settled,
    /// Some were refused and wait for a later try.
    Left,
    /// The mail server failed: the rest wait for the backoff.
    Stopped,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_smtp_url_is_refused_and_a_user_is_read() {
        assert!(url_user("smtp://mail:secret@host:25")
            .unwrap_err()
            .to_string()
            .contains("PLANSYNC_SMTP_PASSWORD"));
        assert_eq!(
            url_user("smtps://plans@mail.council.gov.uk:465").unwrap(),
            Some("plans".into())
        );
        assert_eq!(url_user("smtp://127.0.0.1:2525").unwrap(), None);
        assert!(url_user("http://host").is_err());
    }

    #[tokio::test]
    async fn settings_that_cannot_work_say_what_to_give() {
        let settings = |url: &str, from: &str, password: Option<&str>| MailSettings {
            url: url.into(),
            from: from.into(),
            password: password.map(Into::into),
            timeout: Duration::from_secs(1),
            check_every: Duration::from_secs(1),
            retry: Duration::from_secs(1),
        };
        let err = |s: MailSettings| Sender::new(&s).err().expect("refused").to_string();
        assert!(err(settings("smtp://h:25", "not an address", None)).contains("--mail-from"));
        assert!(err(settings("smtp://u@h:25", "a@b.org", None)).contains("no password"));
        assert!(err(settings("smtp://h:25", "a@b.org", Some("pw"))).contains("names no user"));
        assert!(Sender::new(&settings("smtp://u@h:25", "Plansync <a@b.org>", Some("pw"))).is_ok());
        let shown = format!(
            "{:?}",
            settings("smtp://u@h:25", "a@b.org", Some("hunter2"))
        );
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
