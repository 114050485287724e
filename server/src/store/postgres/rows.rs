//! Rows read back as the store's types.

use super::*;

pub(super) fn participant(r: &Row) -> Participant {
    Participant {
        id: ParticipantId(r.get(0)),
        plan: r.get(1),
        name: r.get(2),
        agency: r.get(3),
        role: Role::parse(r.get(4)).unwrap_or(Role::Viewer),
        joined: r.get(5),
        kind: ParticipantKind::parse(r.get(6)),
        signed_in_with: r.get(7),
        last_sign_in: r.get(8),
        provider: r.get(9),
        session_ends: None,
    }
}

pub(super) fn invitation(r: &Row) -> Invitation {
    Invitation {
        id: r.get(0),
        plan: r.get(1),
        role: Role::parse(r.get(2)).unwrap_or(Role::Viewer),
        code: r.get(3),
        expires: r.get(4),
        uses_left: r.get(5),
        sign_in: SignInRule::from_stored(r.get::<_, Option<&str>>(6)),
    }
}

pub(super) fn snapshot(r: &Row) -> Snapshot {
    let heads: &str = r.get(3);
    Snapshot {
        id: r.get(0),
        plan: r.get(1),
        name: r.get(2),
        heads: heads.split_whitespace().map(str::to_string).collect(),
        author: author(r.get(4), r.get(5)).or(r.get(7)),
        created_ms: r.get(6),
    }
}

pub(super) fn person_link(r: &tokio_postgres::Row) -> PersonLink {
    PersonLink {
        participant: r.get(0),
        person: plansync_shared::PersonId::new(r.get::<_, String>(1)),
        confirmed: r.get(2),
        shared: r.get(3),
    }
}
