//! Search across a plan: titles, text fields, progress updates, comments, people and boards.
//! Runs on whatever copy of the plan the caller holds, so the app searches offline.

use crate::plan::{CommentTarget, Plan};
use serde::Serialize;

/// What a search hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum HitKind {
    /// A theme (title, aim, shared outcomes).
    Theme,
    /// An objective (wording, workshop review).
    Objective,
    /// An action (title, description, target).
    Action,
    /// A progress update on an action.
    Update,
    /// A comment.
    Comment,
    /// An indicator.
    Indicator,
    /// A board (name, remit).
    Board,
    /// A person (name, role).
    Person,
}

impl HitKind {
    /// Every kind, in the order results are grouped.
    pub const ALL: &'static [HitKind] = &[
        HitKind::Action,
        HitKind::Update,
        HitKind::Objective,
        HitKind::Theme,
        HitKind::Indicator,
        HitKind::Comment,
        HitKind::Board,
        HitKind::Person,
    ];

    /// The group's heading.
    pub fn heading(self) -> &'static str {
        match self {
            HitKind::Theme => "Themes",
            HitKind::Objective => "Objectives",
            HitKind::Action => "Actions",
            HitKind::Update => "Progress updates",
            HitKind::Comment => "Comments",
            HitKind::Indicator => "Indicators",
            HitKind::Board => "Boards",
            HitKind::Person => "People",
        }
    }
}

/// Where a hit opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum HitTarget {
    /// The outline (themes and objectives).
    Outline,
    /// An action's page (actions, their updates and comments).
    Action(String),
    /// An indicator's page.
    Indicator(String),
    /// A board's page.
    Board(String),
    /// The people page.
    People,
}

/// One thing that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    /// What it is.
    pub kind: HitKind,
    /// Its name (an update's or comment's action, indicator, objective or theme).
    pub title: String,
    /// The matching text, shortened around the match.
    pub excerpt: String,
    /// Where it opens.
    pub target: HitTarget,
}

/// How much text an excerpt shows either side of the match.
const AROUND: usize = 60;

/// The text around the first match of `needle` (lower case) in `text`, or `None`.
fn excerpt(text: &str, needle: &str) -> Option<String> {
    let lower = text.to_lowercase();
    // Lower-casing can change byte lengths: find the match in characters.
    let at = lower.find(needle)?;
    let char_at = lower[..at].chars().count();
    let chars: Vec<char> = text.chars().collect();
    // (Lower-casing can also change how many characters there are: stay in bounds.)
    let end = (char_at + needle.chars().count() + AROUND).min(chars.len());
    let start = char_at.saturating_sub(AROUND).min(end);
    let mut out: String = chars[start..end].iter().collect();
    if start > 0 {
        out.insert(0, '…');
    }
    if end < chars.len() {
        out.push('…');
    }
    Some(out)
}

/// Every part of the plan whose text contains every word of `query` (case-insensitive),
/// grouped by kind in [`HitKind::ALL`] order, then in plan order. An empty query finds
/// nothing.
pub fn search(plan: &Plan, query: &str) -> Vec<Hit> {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    if words.is_empty() {
        return Vec::new();
    }
    let mut hits = Vec::new();
    // A hit when all words are in `fields` together; the excerpt from the first field with
    // the first word.
    let mut try_hit = |kind: HitKind, title: &str, fields: &[&str], target: HitTarget| {
        let all = fields.join("\n").to_lowercase();
        if !words.iter().all(|w| all.contains(w.as_str())) {
            return;
        }
        let shown = fields
            .iter()
            .find_map(|f| excerpt(f, &words[0]))
            .unwrap_or_else(|| title.to_string());
        hits.push(Hit {
            kind,
            title: title.to_string(),
            excerpt: shown,
            target,
        });
    };
    for t in &plan.themes {
        let mut fields = vec![t.title.as_str(), t.aim.as_str()];
        fields.extend(t.outcomes.iter().map(String::as_str));
        try_hit(HitKind::Theme, &t.title, &fields, HitTarget::Outline);
        for o in &t.objectives {
            try_hit(
                HitKind::Objective,
                &o.text,
                &[
                    &o.text,
                    &o.review.group,
                    &o.review.proposed,
                    &o.review.comments,
                ],
                HitTarget::Outline,
            );
            for a in &o.actions {
                let open = HitTarget::Action(a.id.to_string());
                try_hit(
                    HitKind::Action,
                    &a.title,
                    &[&a.title, &a.description, &a.target],
                    open.clone(),
                );
                for u in &a.updates {
                    let by = format!("{} ({})", u.date, u.by());
                    try_hit(HitKind::Update, &a.title, &[&u.text, &by], open.clone());
                }
            }
        }
    }
    for i in &plan.indicators {
        try_hit(
            HitKind::Indicator,
            &i.name,
            &[&i.name, &i.unit],
            HitTarget::Indicator(i.id.to_string()),
        );
    }
    for c in &plan.comments {
        let (title, target) = comment_place(plan, &c.target);
        let by = format!("{} ({})", c.date, c.by());
        try_hit(HitKind::Comment, &title, &[&c.text, &by], target);
    }
    for b in &plan.boards {
        try_hit(
            HitKind::Board,
            &b.name,
            &[&b.name, &b.remit],
            HitTarget::Board(b.id.to_string()),
        );
    }
    for p in &plan.people {
        let agency = plan.agency_of(Some(&p.id));
        try_hit(
            HitKind::Person,
            &p.name,
            &[&p.name, &p.role, &agency],
            HitTarget::People,
        );
    }
    hits.sort_by_key(|h| HitKind::ALL.iter().position(|k| *k == h.kind));
    hits
}

/// What a comment is on, by name, and where it opens.
fn comment_place(plan: &Plan, target: &CommentTarget) -> (String, HitTarget) {
    let actions = || {
        plan.themes
            .iter()
            .flat_map(|t| &t.objectives)
            .flat_map(|o| &o.actions)
    };
    match target {
        CommentTarget::Theme(id) => (
            plan.themes
                .iter()
                .find(|t| &t.id == id)
                .map(|t| t.title.clone())
                .unwrap_or_default(),
            HitTarget::Outline,
        ),
        CommentTarget::Objective(id) => (
            plan.themes
                .iter()
                .flat_map(|t| &t.objectives)
                .find(|o| &o.id == id)
                .map(|o| o.text.clone())
                .unwrap_or_default(),
            HitTarget::Outline,
        ),
        CommentTarget::Action(id) => (
            actions()
                .find(|a| &a.id == id)
                .map(|a| a.title.clone())
                .unwrap_or_default(),
            HitTarget::Action(id.to_string()),
        ),
        CommentTarget::Indicator(id) => (
            plan.indicators
                .iter()
                .find(|i| &i.id == id)
                .map(|i| i.name.clone())
                .unwrap_or_default(),
            HitTarget::Indicator(id.to_string()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo_plan;
    use rand::SeedableRng;

    fn demo() -> Plan {
        let mut r = rand::rngs::StdRng::seed_from_u64(5);
        demo_plan(&mut r).unwrap().read().unwrap()
    }

    #[test]
    fn a_progress_updates_words_find_it_and_open_its_action() {
        let plan = demo();
        let (action, update) = plan
            .themes
            .iter()
            .flat_map(|t| &t.objectives)
            .flat_map(|o| &o.actions)
            .find_map(|a| a.updates.first().map(|u| (a, u)))
            .expect("the demo has progress updates");
        let words: Vec<&str> = update.text.split_whitespace().take(3).collect();
        let query = words.join(" ").to_uppercase();
        let hits = search(&plan, &query);
        let hit = hits
            .iter()
            .find(|h| h.kind == HitKind::Update && h.title == action.title)
            .unwrap_or_else(|| panic!("no update hit for {query:?}: {hits:?}"));
        assert_eq!(hit.target, HitTarget::Action(action.id.to_string()));
        assert!(hit
            .excerpt
            .to_lowercase()
            .contains(&words[0].to_lowercase()));
    }

    #[test]
    fn every_word_must_match_and_results_come_grouped_by_kind() {
        let plan = demo();
        assert!(search(&plan, "   ").is_empty());
        assert!(search(&plan, "zzqx-not-in-any-plan").is_empty());
        let board = &plan.boards[0];
        let hits = search(&plan, &board.name);
        assert!(hits.iter().any(
            |h| h.kind == HitKind::Board && h.target == HitTarget::Board(board.id.to_string())
        ));
        let order: Vec<usize> = hits
            .iter()
            .map(|h| HitKind::ALL.iter().position(|k| *k == h.kind).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] <= w[1]), "{order:?}");
        let one = format!("{} zzqx-not-in-any-plan", board.name);
        assert!(search(&plan, &one).is_empty(), "all words must match");
    }

    #[test]
    fn an_excerpt_is_cut_around_the_match_on_character_boundaries() {
        let text = format!("{}Ünïcode match here{}", "é".repeat(100), "ß".repeat(100));
        let e = excerpt(&text, "match").unwrap();
        assert!(e.starts_with('…') && e.ends_with('…'));
        assert!(e.contains("Ünïcode match here"));
        assert!(e.chars().count() <= 2 * AROUND + "match".len() + 2);
    }
}
