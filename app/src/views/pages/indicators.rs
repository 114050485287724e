//! Indicators: the list, and one indicator's measure (name, unit, polarity, target,
//! tolerance), its quarterly values in a grid (type a value, Enter or ↓ to the next quarter),
//! a chart of the values against the target band, out-of-tolerance marked in colour and
//! word, direction of travel with a lead's override, the actions linked to it and comments.

use crate::model::Model;
use crate::route::Route;
use crate::views::widgets::charts::ValueChart;
use crate::views::widgets::comments::{CommentBadge, CommentThread};
use crate::views::widgets::period::current_period;
use crate::views::widgets::text::CollabText;
use crate::views::widgets::travel::TravelOverride;
use leptos::prelude::*;
use plansync_shared::PlanOp;
use plansync_shared::{
    indicator_travel, out_of_tolerance, CommentTarget, Indicator, IndicatorId, Plan, Polarity,
    ReportingPeriod, TextField, TravelItem,
};
use wasm_bindgen::JsCast;

/// The indicators page: the list, or one indicator.
#[component]
pub fn IndicatorsPage(id: Option<String>) -> impl IntoView {
    match id {
        None => view! { <IndicatorList /> }.into_any(),
        Some(id) => view! { <IndicatorDetail id=IndicatorId::new(id) /> }.into_any(),
    }
}

/// The period an indicator is judged in: the latest with a value, up to now.
fn latest_value_period(i: &Indicator) -> ReportingPeriod {
    let now = current_period();
    i.values
        .keys()
        .copied()
        .filter(|p| *p <= now)
        .max()
        .unwrap_or(now)
}

/// Every indicator with its latest value, whether it is out of tolerance and its trend.
#[component]
fn IndicatorList() -> impl IntoView {
    let model = expect_context::<Model>();
    let list = move || {
        model
            .plan
            .with(|p| p.as_ref().map(|p| p.indicators.clone()).unwrap_or_default())
    };
    let name = RwSignal::new(String::new());
    let add = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        let n = name.get_untracked().trim().to_string();
        if n.is_empty() {
            return;
        }
        let op = PlanOp::AddIndicator {
            seed: model.seed(),
            name: n,
            unit: String::new(),
            polarity: Polarity::LowerIsBetter,
            target: 0.0,
            tolerance: 0.0,
        };
        let made = op.made();
        if let (true, Some(i), Some(doc)) = (model.apply(op), made, model.doc.get_untracked()) {
            name.set(String::new());
            crate::route::go(&Route::Indicators(doc, Some(i)));
        }
    };
    view! {
        <section class="indicators">
            <h1 tabindex="-1">"Indicators"</h1>
            <div class="table-wrap">
                <table class="indicator-table">
                    <thead><tr>
                        <th scope="col">"Indicator"</th><th scope="col">"Latest value"</th>
                        <th scope="col">"Target"</th><th scope="col">"Tolerance"</th>
                        <th scope="col">"Status"</th><th scope="col">"Direction of travel"</th>
                        <th scope="col">"Values"</th>
                    </tr></thead>
                    <tbody>
                        {move || {
                            let doc = model.doc.get()?;
                            Some(list().into_iter().map(|i| {
                                let p = latest_value_period(&i);
                                let out = out_of_tolerance(&i, p);
                                let value = i.values.get(&p).map(|v| format!("{v} {} ({p})", i.unit)).unwrap_or_else(|| "none yet".into());
                                let travel = indicator_travel(&i, p).describe();
                                view! {
                                    <tr data-indicator=i.id.to_string() data-out=out.to_string()>
                                        <th scope="row">
                                            <a href=Route::Indicators(doc, Some(i.id.to_string())).href()>{i.name.clone()}</a>
                                            " " <CommentBadge target=CommentTarget::Indicator(i.id.clone()) />
                                        </th>
                                        <td>{value}</td>
                                        <td>{format!("{} ({})", i.target, i.polarity)}</td>
                                        <td>{format!("± {}", i.tolerance)}</td>
                                        <td>{if out { view! { <strong class="out-of-tolerance">"Out of tolerance"</strong> }.into_any() } else { view! { <span class="within">"Within tolerance"</span> }.into_any() }}</td>
                                        <td>{travel}</td>
                                        <td><ValueChart indicator=i.clone() period=p /></td>
                                    </tr>
                                }
                            }).collect_view())
                        }}
                    </tbody>
                </table>
            </div>
            <form class="add-indicator" on:submit=add>
                <label>"New indicator " <input name="indicator" bind:value=name placeholder="e.g. Domestic burglaries" /></label>
                <button type="submit" class="add">"Add indicator"</button>
            </form>
        </section>
    }
}

/// The quarters of the plan's years, first to last (Q1 is April to June).
fn plan_quarters(plan: &Plan, i: &Indicator) -> Vec<ReportingPeriod> {
    let mut ps: Vec<ReportingPeriod> = (plan.period_start..=plan.period_end)
        .flat_map(|y| {
            (1..=4).filter_map(move |q| ReportingPeriod::from_key(&format!("{y}-Q{q}")).ok())
        })
        .chain(i.values.keys().copied())
        .collect();
    ps.sort();
    ps.dedup();
    ps
}

/// Focuses the value box `step` rows away in the grid, if there is one.
fn focus_row(from: &web_sys::EventTarget, step: i32) {
    let Some(input) = from.dyn_ref::<web_sys::Element>() else {
        return;
    };
    let Some(grid) = input.closest("table").ok().flatten() else {
        return;
    };
    let Ok(boxes) = grid.query_selector_all("input.value") else {
        return;
    };
    let all: Vec<web_sys::Element> = (0..boxes.length())
        .filter_map(|k| boxes.item(k)?.dyn_into().ok())
        .collect();
    let Some(here) = all.iter().position(|e| e == input) else {
        return;
    };
    let next = here as i32 + step;
    if let Some(e) = usize::try_from(next).ok().and_then(|n| all.get(n)) {
        if let Some(h) = e.dyn_ref::<web_sys::HtmlElement>() {
            let _ = h.focus();
        }
    }
}

/// One indicator with everything about it.
#[component]
fn IndicatorDetail(id: IndicatorId) -> impl IntoView {
    let model = expect_context::<Model>();
    let key = id.clone();
    let found = Memo::new(move |_| {
        model.plan.with(|p| {
            p.as_ref()
                .and_then(|p| p.indicators.iter().find(|i| i.id == key).cloned())
        })
    });
    let name = Signal::derive(move || {
        found.with(|i| i.as_ref().map(|i| i.name.clone()).unwrap_or_default())
    });
    let measure_error = RwSignal::new(None::<String>);
    let i1 = id.clone();
    // Unit, polarity, target and tolerance are saved together when any of them changes.
    let save_measure = move |ev: web_sys::Event| {
        let Some(form) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.closest("form").ok().flatten())
        else {
            return;
        };
        let field = |n: &str| {
            form.query_selector(&format!("[name={n}]"))
                .ok()
                .flatten()
                .and_then(|e| match e.dyn_into::<web_sys::HtmlInputElement>() {
                    Ok(i) => Some(i.value()),
                    Err(e) => e
                        .dyn_into::<web_sys::HtmlSelectElement>()
                        .ok()
                        .map(|s| s.value()),
                })
                .unwrap_or_default()
        };
        let (unit, polarity, target, tolerance) = (
            field("unit"),
            field("polarity"),
            field("target"),
            field("tolerance"),
        );
        let (Ok(target), Ok(tolerance), Ok(polarity)) = (
            target.trim().parse::<f64>(),
            tolerance.trim().parse::<f64>(),
            Polarity::parse(&polarity),
        ) else {
            measure_error.set(Some(
                "The target and tolerance must be numbers (e.g. 400 and 20).".into(),
            ));
            return;
        };
        measure_error.set(None);
        let id = i1.clone();
        model.apply(PlanOp::SetIndicatorMeasure {
            indicator: id,
            unit: unit.trim().to_string(),
            polarity,
            target,
            tolerance,
        });
    };
    let doc = model.doc.get_untracked();
    view! {
        <article class="indicator-detail">
            {move || found.with(Option::is_none).then(|| view! {
                <p class="notice">"This indicator is not in the plan (it may have been removed). Open one from the list of indicators."</p>
            })}
            <p><a href=doc.map(|d| Route::Indicators(d, None).href()).unwrap_or_default()>"← All indicators"</a></p>
            <h1 tabindex="-1" class="visually-hidden">{move || name.get()}</h1>
            <CollabText field=TextField::IndicatorName(id.clone()) value=name label="Indicator name" class="detail-title" />
            {move || found.get().map(|i| view! {
                <form class="measure" on:submit=|ev| ev.prevent_default() on:change=save_measure.clone()>
                    <label>"Unit " <input name="unit" prop:value=i.unit.clone() placeholder="e.g. offences" /></label>
                    <label>"Polarity "
                        <select name="polarity">
                            {Polarity::ALL.iter().map(|p| view! { <option value=p.as_str() selected=i.polarity == *p>{p.as_str()}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>"Target per quarter " <input name="target" inputmode="decimal" prop:value=i.target.to_string() size="8" /></label>
                    <label>"Tolerance ± " <input name="tolerance" inputmode="decimal" prop:value=i.tolerance.to_string() size="6" /></label>
                </form>
            })}
            {move || measure_error.get().map(|e| view! { <p class="notice" role="alert">{e}</p> })}
            <ValueGrid id=id.clone() found />
            <TravelOverride item=TravelItem::Indicator(id.clone()) />
            <LinkedActions id=id.clone() />
            <CommentThread target=CommentTarget::Indicator(id.clone()) />
        </article>
    }
}

/// The quarterly values in a grid beside the chart of them.
#[component]
fn ValueGrid(id: IndicatorId, found: Memo<Option<Indicator>>) -> impl IntoView {
    let model = expect_context::<Model>();
    let bad = RwSignal::new(None::<String>);
    let rows = move || {
        model.plan.with(|p| {
            let (Some(p), Some(i)) = (p.as_ref(), found.get()) else {
                return Vec::new();
            };
            plan_quarters(p, &i)
        })
    };
    view! {
        <div class="value-grid">
            <div class="scroll-x"><table class="values">
                <caption>"Values by quarter (type a value; Enter or ↓ goes to the next quarter, ↑ to the one before)"</caption>
                <thead><tr><th scope="col">"Quarter"</th><th scope="col">"Value"</th><th scope="col">"Status"</th><th scope="col">"Direction"</th></tr></thead>
                <tbody>
                    {move || rows().into_iter().map(|period| {
                        let id = id.clone();
                        let value = move || found.with(|i| i.as_ref().and_then(|i| i.values.get(&period).copied()));
                        let out = move || found.with(|i| i.as_ref().is_some_and(|i| out_of_tolerance(i, period)));
                        let travel = move || found.with(|i| i.as_ref().and_then(|i| indicator_travel(i, period).shown()).map(|d| d.to_string()).unwrap_or_default());
                        view! {
                            <tr data-period=period.key() data-out=move || out().to_string()>
                                <th scope="row">{period.to_string()}</th>
                                <td><input class="value" inputmode="decimal" size="8" aria-label=format!("Value for {period}")
                                    prop:value=move || value().map(|v| v.to_string()).unwrap_or_default()
                                    on:keydown=move |ev: web_sys::KeyboardEvent| {
                                        let step = match ev.key().as_str() { "Enter" | "ArrowDown" => 1, "ArrowUp" => -1, _ => return };
                                        ev.prevent_default();
                                        if let Some(t) = ev.target() { focus_row(&t, step) }
                                    }
                                    on:change=move |ev| {
                                        let typed = event_target_value(&ev).trim().replace(',', "");
                                        let id = id.clone();
                                        if typed.is_empty() {
                                            bad.set(None);
                                            model.apply(PlanOp::ClearIndicatorValue { indicator: id, period });
                                        } else if let Ok(v) = typed.parse::<f64>().map_err(drop).and_then(|v| if v.is_finite() { Ok(v) } else { Err(()) }) {
                                            bad.set(None);
                                            model.apply(PlanOp::SetIndicatorValue { indicator: id, period, value: v });
                                        } else {
                                            bad.set(Some(format!("\"{typed}\" for {period} is not a number: type a value such as 412 or 3.5.")));
                                        }
                                    } /></td>
                                <td>{move || out().then(|| view! { <strong class="out-of-tolerance">"Out of tolerance"</strong> })}</td>
                                <td>{travel}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table></div>
            {move || bad.get().map(|e| view! { <p class="notice" role="alert">{e}</p> })}
            {move || found.get().map(|i| {
                let p = latest_value_period(&i);
                view! { <ValueChart indicator=i period=p large=true /> }
            })}
        </div>
    }
}

/// The actions whose target this indicator measures.
#[component]
fn LinkedActions(id: IndicatorId) -> impl IntoView {
    let model = expect_context::<Model>();
    move || {
        let doc = model.doc.get()?;
        let actions: Vec<(String, String)> = model.plan.with(|p| {
            p.as_ref()
                .map(|p| {
                    p.themes
                        .iter()
                        .flat_map(|t| &t.objectives)
                        .flat_map(|o| &o.actions)
                        .filter(|a| a.indicator.as_ref() == Some(&id))
                        .map(|a| (a.id.to_string(), a.title.clone()))
                        .collect()
                })
                .unwrap_or_default()
        });
        Some(view! {
            <section class="linked-actions" aria-label="Linked actions">
                <h2>{format!("Actions linked to it ({})", actions.len())}</h2>
                {if actions.is_empty() {
                    view! { <p class="muted">"No action's target is measured by this indicator yet (link one on the action's page)."</p> }.into_any()
                } else {
                    view! {
                        <ul>
                            {actions.into_iter().map(|(aid, title)| {
                                let href = Route::Action(doc, aid.clone()).href();
                                view! { <li data-action=aid><a href=href>{title}</a></li> }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
        })
    }
}
