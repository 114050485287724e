//! Reporting periods: financial-year quarters (Q1 = April to June).

use crate::Error;
use std::fmt;
use time::{Date, Month};

/// A quarter of a financial year.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Quarter {
    /// April to June.
    Q1,
    /// July to September.
    Q2,
    /// October to December.
    Q3,
    /// January to March.
    Q4,
}

/// One reporting period: a quarter of the financial year that starts on 1 April of `year`.
/// In JSON it is its key, `"2026-Q2"`, so it can key a map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReportingPeriod {
    /// The calendar year in which the financial year starts (2025 for 2025/26).
    pub year: i32,
    /// The quarter within that financial year.
    pub quarter: Quarter,
}

impl ReportingPeriod {
    /// The reporting period that contains `date`.
    pub fn containing(date: Date) -> Self {
        let (year, quarter) = match date.month() {
            Month::April | Month::May | Month::June => (date.year(), Quarter::Q1),
            Month::July | Month::August | Month::September => (date.year(), Quarter::Q2),
            Month::October | Month::November | Month::December => (date.year(), Quarter::Q3),
            Month::January | Month::February | Month::March => (date.year() - 1, Quarter::Q4),
        };
        Self { year, quarter }
    }

    /// The period before this one.
    pub fn previous(self) -> Self {
        match self.quarter {
            Quarter::Q1 => Self {
                year: self.year - 1,
                quarter: Quarter::Q4,
            },
            Quarter::Q2 => Self {
                year: self.year,
                quarter: Quarter::Q1,
            },
            Quarter::Q3 => Self {
                year: self.year,
                quarter: Quarter::Q2,
            },
            Quarter::Q4 => Self {
                year: self.year,
                quarter: Quarter::Q3,
            },
        }
    }

    /// The key under which the period is stored in the document, e.g. `2025-Q2`.
    pub fn key(self) -> String {
        format!("{}-{:?}", self.year, self.quarter)
    }

    /// Parses a key written by [`ReportingPeriod::key`].
    pub fn from_key(key: &str) -> Result<Self, Error> {
        let bad = || Error::Invalid(format!("'{key}' is not a reporting period like 2025-Q2"));
        let (year, q) = key.split_once('-').ok_or_else(bad)?;
        let year = year.parse().map_err(|_| bad())?;
        let quarter = match q {
            "Q1" => Quarter::Q1,
            "Q2" => Quarter::Q2,
            "Q3" => Quarter::Q3,
            "Q4" => Quarter::Q4,
            _ => return Err(bad()),
        };
        Ok(Self { year, quarter })
    }
}

impl serde::Serialize for ReportingPeriod {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.key())
    }
}

impl<'de> serde::Deserialize<'de> for ReportingPeriod {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let key = String::deserialize(d)?;
        ReportingPeriod::from_key(&key).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for ReportingPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:?}",
            financial_year(i64::from(self.year)),
            self.quarter
        )
    }
}

/// A financial year's label: "2025/26" for the year that starts in April 2025.
pub fn financial_year(start: i64) -> String {
    format!("{start}/{:02}", (start + 1).rem_euclid(100))
}

/// An ISO date in words, as papers and reminders print it: "15 January 2027" (the text as
/// given if it is not a date).
pub fn long_date(iso: &str) -> String {
    let format = time::macros::format_description!("[day padding:none] [month repr:long] [year]");
    parse_date(iso)
        .ok()
        .and_then(|d| d.format(&format).ok())
        .unwrap_or_else(|| iso.to_string())
}

/// Parses an ISO date (`2025-04-01`), the form dates take in the document.
pub fn parse_date(s: &str) -> Result<Date, Error> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, &format)
        .map_err(|_| Error::Invalid(format!("'{s}' is not a date like 2025-04-01")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn april_to_june_is_q1_of_the_financial_year_starting_that_april() {
        let p = ReportingPeriod::containing(date!(2025 - 04 - 01));
        assert_eq!(
            p,
            ReportingPeriod {
                year: 2025,
                quarter: Quarter::Q1
            }
        );
        assert_eq!(
            ReportingPeriod::containing(date!(2025 - 06 - 30)).quarter,
            Quarter::Q1
        );
        assert_eq!(p.to_string(), "2025/26 Q1");
    }

    #[test]
    fn financial_years_are_labelled_with_two_digits_after_the_slash() {
        assert_eq!(financial_year(2025), "2025/26");
        assert_eq!(financial_year(2099), "2099/00");
        assert_eq!(financial_year(2008), "2008/09");
    }

    #[test]
    fn january_to_march_is_q4_of_the_previous_financial_year() {
        let p = ReportingPeriod::containing(date!(2026 - 03 - 31));
        assert_eq!(
            p,
            ReportingPeriod {
                year: 2025,
                quarter: Quarter::Q4
            }
        );
        assert_eq!(ReportingPeriod::containing(date!(2026 - 01 - 01)), p);
        assert_eq!(
            ReportingPeriod::containing(date!(2025 - 12 - 31)).quarter,
            Quarter::Q3
        );
        assert_eq!(
            ReportingPeriod::containing(date!(2025 - 09 - 01)).quarter,
            Quarter::Q2
        );
    }

    #[test]
    fn previous_of_q1_is_q4_of_the_year_before_and_keys_round_trip() {
        let q1 = ReportingPeriod {
            year: 2025,
            quarter: Quarter::Q1,
        };
        assert_eq!(
            q1.previous(),
            ReportingPeriod {
                year: 2024,
                quarter: Quarter::Q4
            }
        );
        assert_eq!(ReportingPeriod::from_key(&q1.key()).unwrap(), q1);
        assert!(ReportingPeriod::from_key("2025-Q5").is_err());
        assert!(parse_date("2025-02-30").is_err());
        assert_eq!(parse_date("2025-02-28").unwrap(), date!(2025 - 02 - 28));
    }
}
