//! Comments on any theme, objective, action or indicator: a thread with resolve and reopen,
//! and the counts the outline and tracker show beside each item.

use crate::model::{today, Model};
use leptos::prelude::*;
use plansync_shared::PlanOp;
use plansync_shared::{CommentTarget, Plan};
use std::collections::HashMap;

/// How many comments an item has, and how many of them are not resolved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommentCount {
    /// Every comment.
    pub all: usize,
    /// Not resolved.
    pub open: usize,
}

/// The comment counts of every item with comments, by [`CommentTarget::key`].
pub fn comment_counts(plan: &Plan) -> HashMap<String, CommentCount> {
    let mut counts: HashMap<String, CommentCount> = HashMap::new();
    for c in &plan.comments {
        let n = counts.entry(c.target.key()).or_default();
        n.all += 1;
        n.open += usize::from(!c.resolved);
    }
    counts
}

/// "3 comments, 1 unresolved" (`None` when there are none).
pub fn comment_count_words(n: CommentCount) -> Option<String> {
    (n.all > 0).then(|| match (n.all, n.open) {
        (1, 1) => "1 comment, unresolved".to_string(),
        (1, _) => "1 comment, resolved".to_string(),
        (a, 0) => format!("{a} comments, all resolved"),
        (a, o) => format!("{a} comments, {o} unresolved"),
    })
}

/// "3 comments, 1 unresolved", for a badge beside an item (nothing when there are none).
#[component]
pub fn CommentBadge(target: CommentTarget) -> impl IntoView {
    let model = expect_context::<Model>();
    let key = target.key();
    move || {
        let n = model.plan.with(|p| {
            p.as_ref()
                .and_then(|p| comment_counts(p).get(&key).copied())
                .unwrap_or_default()
        });
        view! { <CommentMark count=n /> }
    }
}

/// A comment count as a mark ("💬 1", read as "3 comments, 1 unresolved"); nothing when
/// there are no comments.
#[component]
pub fn CommentMark(count: CommentCount) -> impl IntoView {
    comment_count_words(count).map(|words| {
        let title = words.clone();
        view! {
            <span class="comment-badge" data-open=count.open title=title>
                <span aria-hidden="true">{format!(" 💬 {}", count.open)}</span>
                <span class="visually-hidden">{words}</span>
            </span>
        }
    })
}

/// The thread on one item: each comment with who wrote it and when, resolve or reopen, and
/// a box for a new one.
#[component]
pub fn CommentThread(
    target: CommentTarget,
    /// Without its own heading (inside a disclosure that names it).
    #[prop(optional)]
    quiet: bool,
) -> impl IntoView {
    let model = expect_context::<Model>();
    let key = target.key();
    let list = move || {
        model.plan.with(|p| {
            p.as_ref()
                .map(|p| {
                    p.comments
                        .iter()
                        .filter(|c| c.target.key() == key)
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    view! {
        <section class="comment-thread" aria-label="Comments">
            {(!quiet).then(|| view! { <h2>"Comments"</h2> })}
            {move || {
                let all = list();
                if all.is_empty() {
                    return view! { <p class="muted">"No comments yet."</p> }.into_any();
                }
                view! {
                    <ol class="comments">
                        {all.into_iter().map(|c| {
                            let id = c.id.clone();
                            let resolved = c.resolved;
                            view! {
                                <li class="comment" data-comment=c.id.to_string() data-resolved=resolved.to_string()>
                                    <p class="by">{format!("{} · {}", c.date, c.by())}
                                        {resolved.then(|| view! { " · " <strong>"Resolved"</strong> })}
                                    </p>
                                    <p>{c.text.clone()}</p>
                                    <button class="small resolve" on:click=move |_| {
                                        let id = id.clone();
                                        model.apply(PlanOp::SetCommentResolved { comment: id, resolved: !resolved });
                                    }>{if resolved { "Reopen" } else { "Resolve" }}</button>
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
            <AddStamped label="Add a comment" on_add=move |author, agency, text| {
                let target = target.clone();
                let known = model.known();
                model.apply(PlanOp::AddComment { seed: model.seed(), target, author, agency, date: today(), text, known })
            } />
        </section>
    }
}

/// "Comments on this theme" as a disclosure with the count; the thread is drawn only while
/// it is open (a long outline has hundreds of them).
#[component]
pub fn CommentsDisclosure(target: CommentTarget, what: &'static str) -> impl IntoView {
    let open = RwSignal::new(false);
    let t = target.clone();
    view! {
        <details class="comments-disclosure" on:toggle=move |ev| {
            let now = ev
                .target()
                .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlDetailsElement>(t).ok())
                .is_some_and(|d| d.open());
            open.set(now);
        }>
            <summary>{format!("Comments on this {what}")}<CommentBadge target=t /></summary>
            {move || open.get().then(|| view! { <CommentThread target=target.clone() quiet=true /> })}
        </details>
    }
}

/// A box to add text stamped with my name, agency and today's date.
#[component]
pub fn AddStamped(
    label: &'static str,
    on_add: impl Fn(String, String, String) -> bool + Send + Sync + 'static,
) -> impl IntoView {
    let model = expect_context::<Model>();
    let text = RwSignal::new(String::new());
    let submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        let words = text.get_untracked().trim().to_string();
        if words.is_empty() {
            return;
        }
        let (author, agency) = model
            .identity
            .get_untracked()
            .map(|i| (i.name, i.agency))
            .unwrap_or_else(|| ("Unknown".into(), "Unknown agency".into()));
        if on_add(author, agency, words) {
            text.set(String::new());
        }
    };
    view! {
        <form class="stamped" on:submit=submit>
            <label>{label}<textarea rows="2" bind:value=text></textarea></label>
            <button type="submit">{label}</button>
        </form>
    }
}
