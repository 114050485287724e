//! Who a participant is in the plan: their links to the plan's people, as the server keeps
//! them and the app shows them (one HTTP body, both sides).

use crate::ids::PersonId;
use serde::{Deserialize, Serialize};

/// A participant's link to a plan person ("I am the Head of Probation Delivery Unit"):
/// kept with the participant on the server that issued their token, and gone when the
/// participant is removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonLink {
    /// The participant (their id on that server).
    pub participant: i64,
    /// The plan person.
    pub person: PersonId,
    /// Whether an owner confirmed it (an owner's own links are confirmed). Only a
    /// confirmed link counts for sign-off; any link counts for My actions.
    pub confirmed: bool,
    /// Whether an owner allowed this person to be linked to several participants.
    pub shared: bool,
}

/// Body of `PUT /api/plans/{plan}/participants/{id}/people/{person}`: a participant says
/// they are that person, or an owner links (and so confirms) them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkPerson {
    /// An owner allows the person to be linked to other participants too.
    #[serde(default)]
    pub shared: bool,
}

/// The plan people one participant is, from a plan's links.
pub fn people_of(links: &[PersonLink], participant: i64) -> Vec<PersonId> {
    links
        .iter()
        .filter(|l| l.participant == participant)
        .map(|l| l.person.clone())
        .collect()
}
