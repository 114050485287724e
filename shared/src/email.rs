//! A participant's email address for reminders: the one rule both sides apply to it, and
//! the HTTP bodies.

use serde::{Deserialize, Serialize};

/// The longest address taken (RFC 5321's limit for a path).
pub const MAX_EMAIL_BYTES: usize = 254;

/// An address as typed, checked and trimmed: one `@` between a local part and a domain
/// with a dot, no spaces, no control characters (so no header can be slipped in with a line
/// break), none of the characters that separate addresses in a header, and not too long.
pub fn valid_email(typed: &str) -> Result<String, String> {
    let email = typed.trim();
    let bad = |why: &str| {
        Err(format!(
            "'{}' is not an email address we can send to: {why}",
            email.escape_debug()
        ))
    };
    if email.is_empty() {
        return bad("it is empty");
    }
    if email.len() > MAX_EMAIL_BYTES {
        return bad("it is longer than 254 characters");
    }
    if email
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || "<>,;:\"()[]\\".contains(c))
    {
        return bad("it has a space, a line break or a character addresses cannot have");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return bad("it has no @");
    };
    if local.is_empty() || domain.contains('@') {
        return bad("it needs exactly one @ with a name before it");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2
        || labels
            .iter()
            .any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-'))
    {
        return bad("its domain is not like council.gov.uk");
    }
    Ok(email.to_string())
}

/// Body of `PUT /api/plans/{plan}/participants/{id}/email`: my address, and whether I want
/// reminders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetEmail {
    /// The address.
    pub email: String,
    /// Whether reminders go to it (a person can stop their own).
    #[serde(default = "yes")]
    pub reminders: bool,
}

fn yes() -> bool {
    true
}

/// A participant's address as owners (all) and the participant (their own) see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantEmail {
    /// The participant.
    pub participant: i64,
    /// Their address.
    pub email: String,
    /// Whether reminders go to it.
    pub reminders: bool,
}

/// Body of `GET /api/plans/{plan}/emails`: the addresses I may see (an owner all, anyone
/// else their own), and whether this server emails reminders at all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailList {
    /// Whether this server was given mail settings and sends reminders.
    pub sends_reminders: bool,
    /// The addresses.
    pub emails: Vec<ParticipantEmail>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_addresses_pass_trimmed_and_header_injection_and_nonsense_do_not() {
        assert_eq!(
            valid_email("  lead@probation.gov.uk ").unwrap(),
            "lead@probation.gov.uk"
        );
        assert!(valid_email("first.last+plans@council-name.example").is_ok());
        for bad in [
            "",
            "lead",
            "lead@",
            "@council.gov.uk",
            "lead@council",
            "lead@@council.gov.uk",
            "lead@council..gov.uk",
            "lead@-council.gov.uk",
            "lead@council.gov.uk\r\nBcc: everyone@example.com",
            "lead@council.gov.uk\nBcc:x@y.z",
            "Lead <lead@council.gov.uk>",
            "a@b.c, d@e.f",
            "lead name@council.gov.uk",
        ] {
            let e = valid_email(bad).unwrap_err();
            assert!(e.contains("not an email address"), "{bad:?}: {e}");
        }
        let long = format!("{}@council.gov.uk", "a".repeat(250));
        assert!(valid_email(&long).is_err());
    }
}
