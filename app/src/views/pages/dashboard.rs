//! The dashboard, the plan's first page: for a reporting period, RAG by theme and by board as
//! small stacked bars, direction of travel, overdue actions, exceptions, indicators as
//! sparklines with their target band, the stage and the next milestone. Every number opens
//! the tracker filtered to what it counts; every chart has its numbers beside it in words.

use crate::model::{today, Model};
use crate::route::{Route, TrackerView};
use crate::views::widgets::charts::{RagBar, ValueChart};
use crate::views::widgets::period::{counted_period, tracker_link, PeriodPicker};
use leptos::prelude::*;
use plansync_shared::{
    indicator_travel, out_of_tolerance, summary, Counts, Direction, DocumentId, Rag,
    ReportingPeriod, Summary,
};

/// The plan's first page.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let model = expect_context::<Model>();
    let chosen = RwSignal::new(None::<ReportingPeriod>);
    let period = counted_period(chosen);
    let glance = Memo::new(move |_| {
        model
            .plan
            .with(|p| p.as_ref().map(|p| summary(p, period.get(), &today(), None)))
    });
    let doc = move || model.doc.get();
    Effect::new(move || {
        if glance.with(Option::is_some) {
            crate::perf::first_frame("dashboard");
        }
    });
    view! {
        <section class="dashboard">
            <h1 tabindex="-1">"Dashboard"</h1>
            <div class="dashboard-top">
                <PeriodPicker chosen period />
                <StageLine />
            </div>
            {move || doc().map(|d| {
                let links = crate::views::widgets::round::plan_links(d);
                view! {
                    <crate::views::widgets::round::MyActions doc=d links />
                    <crate::views::widgets::round::RoundPanel doc=d links />
                }
            })}
            {move || {
                let (Some(doc), Some(s)) = (doc(), glance.get()) else { return None };
                Some(view! {
                    <Headlines doc summary=s.clone() />
                    <section class="panel" aria-labelledby="by-theme">
                        <h2 id="by-theme">"RAG by theme"</h2>
                        <RagLegend />
                        <ul class="rag-groups">
                            {s.themes.iter().map(|g| {
                                let id = g.id.to_string();
                                view! {
                                    <RagGroup doc period=s.period name=g.name.clone() counts=g.counts.clone()
                                        kind="theme" id=id.clone()
                                        filter=move |v: &mut TrackerView| v.theme = Some(id.clone()) />
                                }
                            }).collect_view()}
                        </ul>
                    </section>
                    <section class="panel" aria-labelledby="by-board">
                        <h2 id="by-board">"RAG by board"</h2>
                        <p class="muted small">"An action counts for its lead board and for each board that contributes to it."</p>
                        <ul class="rag-groups">
                            {s.boards.iter().map(|g| {
                                let id = g.id.to_string();
                                view! {
                                    <RagGroup doc period=s.period name=g.name.clone() counts=g.counts.clone()
                                        kind="board" id=id.clone()
                                        filter=move |v: &mut TrackerView| v.board = Some(id.clone()) />
                                }
                            }).collect_view()}
                        </ul>
                    </section>
                    <IndicatorPanel doc period=s.period />
                })
            }}
        </section>
    }
}

/// Direction of travel, exceptions, overdue actions and indicators out of tolerance.
#[component]
fn Headlines(doc: DocumentId, summary: Summary) -> impl IntoView {
    let p = summary.period;
    let all = summary.all;
    let travel = [
        (Direction::Improving, "↑", "improving"),
        (Direction::Unchanged, "→", "unchanged"),
        (Direction::Worsening, "↓", "worsening"),
    ];
    view! {
        <section class="panel headlines" aria-labelledby="headlines">
            <h2 id="headlines">{format!("{} actions in {p}", all.rag.total())}</h2>
            <ul class="figures">
                <li class="figure">
                    <a data-count="exceptions" href=tracker_link(doc, p, |v| v.exceptions = true)>
                        <strong>{all.exceptions}</strong>" exceptions"
                    </a>
                    <span class="muted small">" red, amber or worsening"</span>
                </li>
                <li class="figure">
                    <a data-count="overdue" href=tracker_link(doc, p, |v| v.overdue = true)>
                        <strong>{all.overdue}</strong>" overdue"
                    </a>
                    <span class="muted small">" past due and not complete"</span>
                </li>
                <li class="figure">
                    <a data-count="indicators-out" href=Route::Indicators(doc, None).href()>
                        <strong>{summary.indicators_out.len()}</strong>" indicators out of tolerance"
                    </a>
                </li>
            </ul>
            <h3>"Direction of travel"</h3>
            <ul class="figures travel">
                {travel.into_iter().map(|(d, arrow, word)| view! {
                    <li class="figure">
                        <a data-travel=word href=tracker_link(doc, p, |v| v.travel = Some(word.to_string()))>
                            <span aria-hidden="true" class=format!("arrow arrow-{word}")>{arrow}</span>
                            " " <strong>{all.travel.get(Some(d))}</strong>{format!(" {word}")}
                        </a>
                    </li>
                }).collect_view()}
                <li class="figure muted">{format!("{} not known (not rated in both periods)", all.travel.not_known)}</li>
            </ul>
        </section>
    }
}

/// What the bars' colours mean, in words.
#[component]
fn RagLegend() -> impl IntoView {
    view! {
        <p class="legend small" aria-hidden="true">
            {Rag::ALL.iter().map(|r| view! {
                <span class=format!("key key-{}", r.as_str().replace(' ', "-"))>{r.as_str()}</span>
            }).collect_view()}
        </p>
    }
}

/// One theme's or board's name, RAG bar and counts, each count a link to the tracker.
#[component]
fn RagGroup(
    doc: DocumentId,
    period: ReportingPeriod,
    name: String,
    counts: Counts,
    kind: &'static str,
    id: String,
    filter: impl Fn(&mut TrackerView) + Clone + 'static,
) -> impl IntoView {
    let title = match kind {
        "board" => view! { <a class="group-name" href=Route::Board(doc, id.clone()).href()>{name.clone()}</a> }.into_any(),
        _ => view! { <span class="group-name">{name.clone()}</span> }.into_any(),
    };
    view! {
        <li class="rag-group" data-kind=kind data-id=id>
            {title}
            <RagBar counts=counts.rag />
            <span class="counts">
                {Rag::ALL.iter().map(|r| {
                    let f = filter.clone();
                    let n = counts.rag.get(*r);
                    let word = r.as_str();
                    view! {
                        <a class=format!("count count-{}", word.replace(' ', "-")) data-rag=word
                           aria-label=format!("{n} {word} in {name}")
                           href=tracker_link(doc, period, move |v| { f(v); v.rag = Some(word.to_string()); })>
                            {format!("{n} {word}")}
                        </a>
                    }
                }).collect_view()}
            </span>
        </li>
    }
}

/// The stage and the next milestone not done (marked when overdue).
#[component]
fn StageLine() -> impl IntoView {
    let model = expect_context::<Model>();
    move || {
        let doc = model.doc.get()?;
        model.plan.with(|p| {
            let p = p.as_ref()?;
            let today = today();
            let next = p.milestones.iter().find(|m| !m.done).map(|m| {
                let due = m.due.clone().unwrap_or_else(|| "no date".into());
                let late = m.due.as_deref().is_some_and(|d| d < today.as_str());
                format!(
                    "Next milestone: {} ({due}){}",
                    m.name,
                    if late { ", overdue" } else { "" }
                )
            });
            Some(view! {
                <p class="stage-line">
                    <span class="stage">{format!("Stage: {}", p.stage)}</span>
                    " · " {next.unwrap_or_else(|| "No milestone ahead".into())}
                    " · " <a href=Route::Milestones(doc).href()>"Stage and milestones"</a>
                </p>
            })
        })
    }
}

/// Each indicator's sparkline with its target band, this period's value and whether it is
/// out of tolerance.
#[component]
fn IndicatorPanel(doc: DocumentId, period: ReportingPeriod) -> impl IntoView {
    let model = expect_context::<Model>();
    let list = move || {
        model
            .plan
            .with(|p| p.as_ref().map(|p| p.indicators.clone()).unwrap_or_default())
    };
    view! {
        <section class="panel" aria-labelledby="indicators-head">
            <h2 id="indicators-head">"Indicators"</h2>
            <ul class="sparklines">
                {move || list().into_iter().map(|i| {
                    let out = out_of_tolerance(&i, period);
                    let value = i.values.get(&period).map(|v| format!("{v} {}", i.unit)).unwrap_or_else(|| "no value".into());
                    let travel = indicator_travel(&i, period).shown().map(|d| d.to_string()).unwrap_or_else(|| "not known".into());
                    view! {
                        <li class="spark" data-indicator=i.id.to_string() data-out=out.to_string()>
                            <a href=Route::Indicators(doc, Some(i.id.to_string())).href()>{i.name.clone()}</a>
                            <ValueChart indicator=i.clone() period />
                            <span class="small">
                                {format!("{period}: {value} · target {} ± {} · {travel}", i.target, i.tolerance)}
                                {out.then(|| view! { " · " <strong class="out-of-tolerance">"out of tolerance"</strong> })}
                            </span>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}
