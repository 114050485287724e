//! How a relay's progress reads, the same in the app (the line under the sync badge) and in
//! `plansync status`.

/// The line saying how far a relay got with a plan: "Central server: all changes sent at
/// 16:42", or "37 changes waiting for the central server, last reached 09:03". `at` writes
/// a time (ms since 1970) as the reader's clock shows it.
pub fn relay_line(
    waiting: usize,
    reached_ms: Option<i64>,
    sent_ms: Option<i64>,
    at: impl Fn(i64) -> String,
) -> String {
    let changes = if waiting == 1 { "change" } else { "changes" };
    match (waiting, sent_ms, reached_ms) {
        (0, Some(t), _) => format!("Central server: all changes sent at {}", at(t)),
        (n, _, Some(r)) => {
            format!(
                "{n} {changes} waiting for the central server, last reached {}",
                at(r)
            )
        }
        (n, _, None) => format!("{n} {changes} waiting for the central server, not reached yet"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hhmm(ms: i64) -> String {
        let m = ms / 60_000;
        format!("{:02}:{:02}", (m / 60) % 24, m % 60)
    }

    #[test]
    fn the_line_says_all_sent_or_how_many_wait_and_when_the_upstream_was_last_reached() {
        let t = (16 * 60 + 42) * 60_000;
        assert_eq!(
            relay_line(0, Some(t), Some(t), hhmm),
            "Central server: all changes sent at 16:42"
        );
        assert_eq!(
            relay_line(37, Some((9 * 60 + 3) * 60_000), Some(0), hhmm),
            "37 changes waiting for the central server, last reached 09:03"
        );
        assert_eq!(
            relay_line(1, None, None, hhmm),
            "1 change waiting for the central server, not reached yet"
        );
    }
}
