//! What only a plan's owners change: its reporting rounds (opening one, moving its dates,
//! closing it). A server refuses an editor's changes that touch them, checked on the
//! changes' own operations, so no client can get round it by writing the document directly.

use automerge::{AutoCommit, ExpandedChange, ObjType, ReadDoc, Value, ROOT};
use std::collections::HashSet;

/// Every object under the plan's `rounds` (each copy of the map, each round, and what each
/// round holds), by automerge's printed object id.
fn round_objects(doc: &AutoCommit) -> HashSet<String> {
    let mut found = HashSet::new();
    let mut todo: Vec<automerge::ObjId> = doc
        .get_all(ROOT, "rounds")
        .unwrap_or_default()
        .into_iter()
        .filter(|(v, _)| v.is_object())
        .map(|(_, id)| id)
        .collect();
    while let Some(obj) = todo.pop() {
        if !found.insert(obj.to_string()) {
            continue;
        }
        let children: Vec<(Value<'_>, automerge::ObjId)> = match doc.object_type(&obj) {
            Ok(ObjType::Map | ObjType::Table) => doc
                .map_range(&obj, ..)
                .map(|item| {
                    let id = item.id();
                    (Value::from(item.value), id)
                })
                .collect(),
            Ok(ObjType::List) => (0..doc.length(&obj))
                .filter_map(|i| doc.get(&obj, i).ok().flatten())
                .collect(),
            _ => Vec::new(),
        };
        todo.extend(
            children
                .into_iter()
                .filter(|(v, _)| v.is_object())
                .map(|(_, id)| id),
        );
    }
    found
}

/// The owner-only part of the plan that any of `changes` (already in `doc`) writes to, in
/// words ("its reporting rounds"), or `None`.
pub fn owner_only_part(doc: &AutoCommit, changes: &[ExpandedChange]) -> Option<&'static str> {
    let protected = round_objects(doc);
    let touches = changes.iter().flat_map(|c| &c.operations).any(|op| {
        let obj = op.obj.to_string();
        protected.contains(&obj)
            || (obj == "_root"
                && matches!(&op.key, automerge::legacy::Key::Map(k) if k == "rounds"))
    });
    touches.then_some("its reporting rounds")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo_plan;
    use crate::period::{Quarter, ReportingPeriod};
    use crate::plan::PlanDoc;
    use automerge::transaction::Transactable;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    const Q3: ReportingPeriod = ReportingPeriod {
        year: 2026,
        quarter: Quarter::Q3,
    };

    fn new_changes(doc: &mut PlanDoc, before: &[automerge::ChangeHash]) -> Vec<ExpandedChange> {
        doc.automerge_mut()
            .get_changes(before)
            .iter()
            .map(|c| c.decode())
            .collect()
    }

    #[test]
    fn opening_changing_or_closing_a_round_or_writing_into_one_is_owner_only_and_editing_is_not() {
        let mut rng = StdRng::seed_from_u64(9);
        let mut doc = demo_plan(&mut rng).unwrap();
        let heads = doc.automerge_mut().get_heads();
        let round = doc
            .open_round(&mut rng, Q3, "2027-01-15", None, "2026-12-01", "Officer")
            .unwrap();
        doc.commit();
        let new = new_changes(&mut doc, &heads);
        assert_eq!(
            owner_only_part(doc.automerge(), &new),
            Some("its reporting rounds")
        );

        // An ordinary edit is not.
        let heads = doc.automerge_mut().get_heads();
        let a = doc.read().unwrap().themes[0].objectives[0].actions[0]
            .id
            .clone();
        doc.set_rag(&a, Q3, crate::Rag::Green).unwrap();
        doc.commit();
        let new = new_changes(&mut doc, &heads);
        assert_eq!(owner_only_part(doc.automerge(), &new), None);

        // Moving the deadline, closing, or writing anything into a round by hand is.
        for step in 0..3 {
            let heads = doc.automerge_mut().get_heads();
            let mut fork = doc.fork(&mut rng);
            match step {
                0 => fork.set_round_dates(&round, "2027-01-22", None).unwrap(),
                1 => fork.close_round(&round, "2027-01-20", "Officer").unwrap(),
                _ => {
                    let am = fork.automerge_mut();
                    let map = am.get(ROOT, "rounds").unwrap().unwrap().1;
                    let r = am.get(&map, round.as_str()).unwrap().unwrap().1;
                    let list = am.get(&r, "outstanding_at_close").unwrap().unwrap().1;
                    am.insert(&list, 0, "ac-forged").unwrap();
                }
            }
            fork.commit();
            doc.merge(&mut fork).unwrap();
            let new = new_changes(&mut doc, &heads);
            assert_eq!(
                owner_only_part(doc.automerge(), &new),
                Some("its reporting rounds"),
                "step {step}"
            );
        }
    }
}
