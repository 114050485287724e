//! The history's filters and "who and when" of an entry, the same in the app (filtering
//! its own copy) and on the server (`GET /api/plans/{plan}/history`).

use crate::HistoryEntry;
use serde::Deserialize;

/// Who sent a change, as the server recorded it.
pub trait Attribution {
    /// The participant's name, if known.
    fn name(&self) -> Option<&str>;
    /// Their agency, if known.
    fn agency(&self) -> Option<&str>;
    /// When the server received the change (ms since 1970).
    fn received_ms(&self) -> i64;
    /// The relaying servers the change came through ("Workshop laptop"), if another
    /// server's relay reported who made it.
    fn via(&self) -> Option<&str> {
        None
    }
    /// How the person is known (signed in with a provider, or joined with a code), when the
    /// server or the reporting relay knew it.
    fn known(&self) -> Option<crate::Known> {
        None
    }
    /// Who, as shown: "name, agency (signed in with Riverton City Council)", and ",
    /// reported by" the relays it came through (their report, not this server's own
    /// knowledge); `None` when no participant is known (the server's own change).
    fn described(&self) -> Option<String> {
        let mut out = self.name()?.to_string();
        if let Some(a) = self.agency().filter(|a| !a.is_empty()) {
            out.push_str(", ");
            out.push_str(a);
        }
        if let Some(k) = self.known() {
            out.push_str(&format!(" ({})", k.words()));
        }
        if let Some(v) = self.via().filter(|v| !v.is_empty()) {
            out.push_str(", reported by ");
            out.push_str(v);
        }
        Some(out)
    }
}

/// Filters of a plan's history; a field left empty matches every entry.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct HistoryFilter {
    /// Only changes by a participant whose name contains this (case-insensitive).
    pub person: Option<String>,
    /// Only changes by people of an agency whose name contains this (case-insensitive).
    pub agency: Option<String>,
    /// Only changes touching this theme (id).
    pub theme: Option<String>,
    /// Only changes on or after this day (YYYY-MM-DD, UTC).
    pub from: Option<String>,
    /// Only changes on or before this day (YYYY-MM-DD, UTC).
    pub to: Option<String>,
}

/// Who made an entry (the first of its changes the server attributed) and when (the
/// latest receipt of its changes, or else the editor's clock), in ms since 1970.
pub fn attributed<'a, A: Attribution>(
    entry: &HistoryEntry,
    lookup: impl Fn(&str) -> Option<&'a A>,
) -> (Option<&'a A>, i64) {
    let who = entry.hashes.iter().find_map(|h| lookup(h));
    let when = entry
        .hashes
        .iter()
        .filter_map(|h| lookup(h))
        .map(Attribution::received_ms)
        .max()
        .unwrap_or(entry.time.saturating_mul(1000));
    (who, when)
}

impl HistoryFilter {
    /// Whether an entry made by `who` at `time_ms` passes every filter.
    pub fn matches<A: Attribution>(
        &self,
        entry: &HistoryEntry,
        who: Option<&A>,
        time_ms: i64,
    ) -> bool {
        let contains = |wanted: &Option<String>, have: Option<&str>| {
            set(wanted)
                .is_none_or(|w| have.is_some_and(|h| h.to_lowercase().contains(&w.to_lowercase())))
        };
        let in_days = || {
            let (from, to) = (set(&self.from), set(&self.to));
            if from.is_none() && to.is_none() {
                return true;
            }
            let day = date_of_ms(time_ms);
            from.is_none_or(|f| day.as_str() >= f) && to.is_none_or(|t| day.as_str() <= t)
        };
        contains(&self.person, who.and_then(A::name))
            && contains(&self.agency, who.and_then(A::agency))
            && set(&self.theme).is_none_or(|t| entry.themes.iter().any(|x| x == t))
            && in_days()
    }
}

/// A filter's value, if it says anything.
fn set(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The day (YYYY-MM-DD, UTC) of a time in ms since 1970; "" if out of range.
pub fn date_of_ms(ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct By(&'static str, &'static str, i64);

    impl Attribution for By {
        fn name(&self) -> Option<&str> {
            Some(self.0)
        }
        fn agency(&self) -> Option<&str> {
            Some(self.1)
        }
        fn received_ms(&self) -> i64 {
            self.2
        }
    }

    fn entry(hashes: &[&str], time: i64, themes: &[&str]) -> HistoryEntry {
        HistoryEntry {
            hashes: hashes.iter().map(|h| h.to_string()).collect(),
            actor: "a".into(),
            time,
            summary: String::new(),
            details: vec![],
            themes: themes.iter().map(|t| t.to_string()).collect(),
            message: None,
        }
    }

    #[test]
    fn an_entry_is_by_its_first_attributed_change_and_dated_by_its_latest_receipt() {
        let people = [
            ("h2", By("Community safety lead", "City Council", 1_000)),
            ("h3", By("Inspector", "Police", 5_000)),
        ];
        let lookup = |h: &str| people.iter().find(|(k, _)| *k == h).map(|(_, b)| b);
        let (who, when) = attributed(&entry(&["h1", "h2", "h3"], 9, &[]), lookup);
        assert_eq!(who.unwrap().0, "Community safety lead");
        assert_eq!(when, 5_000);
        let (who, when) = attributed(&entry(&["h9"], 9, &[]), lookup);
        assert!(who.is_none());
        assert_eq!(
            when, 9_000,
            "the editor's clock when the server knows nothing"
        );
    }

    #[test]
    fn filters_match_names_and_agencies_in_any_case_themes_exactly_and_days_inclusively() {
        let by = By("Community Safety Lead", "City Council", 0);
        // 2026-04-01T12:00:00Z
        let noon = 1_775_044_800_000;
        let e = entry(&["h"], 0, &["t1"]);
        let f = |person: &str, agency: &str, theme: &str, from: &str, to: &str| HistoryFilter {
            person: Some(person.into()),
            agency: Some(agency.into()),
            theme: Some(theme.into()),
            from: Some(from.into()),
            to: Some(to.into()),
        };
        assert!(HistoryFilter::default().matches(&e, Some(&by), noon));
        assert!(
            f(" safety ", "COUNCIL", "t1", "2026-04-01", "2026-04-01").matches(&e, Some(&by), noon)
        );
        assert!(!f("police", "", "", "", "").matches(&e, Some(&by), noon));
        assert!(!f("", "", "t2", "", "").matches(&e, Some(&by), noon));
        assert!(!f("", "", "", "2026-04-02", "").matches(&e, Some(&by), noon));
        assert!(!f("", "", "", "", "2026-03-31").matches(&e, Some(&by), noon));
        assert!(
            !f("lead", "", "", "", "").matches::<By>(&e, None, noon),
            "unknown authors match no name"
        );
    }
}
