//! The reporting period a page counts: today's, the ones a plan has figures for, the
//! picker of one, and the tracker filtered to a period.

use crate::model::{today, Model};
use crate::route::{Route, TrackerView};
use leptos::prelude::*;
use plansync_shared::{DocumentId, Plan, ReportingPeriod};

/// The reporting period containing today.
pub fn current_period() -> ReportingPeriod {
    plansync_shared::parse_date(&today())
        .map(ReportingPeriod::containing)
        .unwrap_or_else(|_| ReportingPeriod::from_key("2026-Q1").expect("valid key"))
}

/// Every period the plan has a rating or an indicator value for, and the current one, latest
/// first.
pub fn periods(plan: &Plan) -> Vec<ReportingPeriod> {
    let mut ps: Vec<ReportingPeriod> = plan
        .themes
        .iter()
        .flat_map(|t| &t.objectives)
        .flat_map(|o| &o.actions)
        .flat_map(|a| a.rag.keys().copied())
        .chain(
            plan.indicators
                .iter()
                .flat_map(|i| i.values.keys().copied()),
        )
        .collect();
    ps.push(current_period());
    ps.sort();
    ps.dedup();
    ps.reverse();
    ps
}

/// The period a page counts: the one `chosen`, else the latest with ratings up to now.
pub fn counted_period(chosen: RwSignal<Option<ReportingPeriod>>) -> Memo<ReportingPeriod> {
    let model = expect_context::<Model>();
    Memo::new(move |_| {
        chosen.get().unwrap_or_else(|| {
            let now = current_period();
            model
                .plan
                .with(|p| p.as_ref().map_or(now, |p| p.latest_rated_period(now)))
        })
    })
}

/// A picker of the reporting period a page counts; `chosen` is `None` until the user picks.
#[component]
pub fn PeriodPicker(
    chosen: RwSignal<Option<ReportingPeriod>>,
    period: Memo<ReportingPeriod>,
) -> impl IntoView {
    let model = expect_context::<Model>();
    let all = move || {
        model
            .plan
            .with(|p| p.as_ref().map(periods).unwrap_or_default())
    };
    view! {
        <label class="period-picker">"Reporting period "
            <select name="period" on:change=move |ev| {
                chosen.set(ReportingPeriod::from_key(&event_target_value(&ev)).ok());
            }>
                {move || all().into_iter().map(|p| view! {
                    <option value=p.key() selected=move || period.get() == p>{p.to_string()}</option>
                }).collect_view()}
            </select>
        </label>
    }
}

/// The tracker of `doc` for `period`, filtered by `f`.
pub fn tracker_link(
    doc: DocumentId,
    period: ReportingPeriod,
    f: impl FnOnce(&mut TrackerView),
) -> String {
    let mut v = TrackerView {
        period: Some(period.key()),
        ..TrackerView::default()
    };
    f(&mut v);
    Route::Tracker(doc, v).href()
}
