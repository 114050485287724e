//! Committee papers: every export (now or at a snapshot, for a period and a board), fetched
//! with the participant's token in a header and saved or shown; and importing an existing
//! action tracker with a column mapping and a preview.

use crate::api;
use crate::model::Model;
use crate::views::widgets::paper::open_paper;
use crate::views::widgets::period::current_period;
use leptos::prelude::*;
use plansync_shared::api::{Snapshot, TrackerPreview};
use wasm_bindgen::JsCast;

/// The papers page of the open plan.
#[component]
pub fn PapersPage() -> impl IntoView {
    let model = expect_context::<Model>();
    let plan = move || model.doc.get().map(|d| d.to_string()).unwrap_or_default();
    let snapshots = LocalResource::new(move || {
        let plan = plan();
        async move { api::snapshots(&plan).await.unwrap_or_default() }
    });
    let exports = LocalResource::new(move || {
        let plan = plan();
        async move { api::exports(&plan).await }
    });
    let at = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let board = RwSignal::new(String::new());
    // Until the user types one: the latest period with ratings (the current quarter may
    // have none yet, and an exception report of it would be empty).
    let chosen = RwSignal::new(None::<String>);
    let period = move || {
        chosen.get().unwrap_or_else(|| {
            let now = current_period();
            model
                .plan
                .with(|p| p.as_ref().map_or(now, |p| p.latest_rated_period(now)))
                .key()
        })
    };
    let boards = move || {
        model.plan.with(|p| {
            p.as_ref()
                .map(|p| {
                    p.boards
                        .iter()
                        .map(|b| (b.id.to_string(), b.name.clone()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let snapshot_options = move || {
        snapshots
            .get()
            .unwrap_or_default()
            .into_iter()
            .map(|s: Snapshot| view! { <option value=s.id.to_string()>{s.name}</option> })
            .collect_view()
    };
    let failed = RwSignal::new(None::<String>);
    let save = move |name: String| {
        let query = vec![
            ("at", at.get_untracked()),
            ("from", from.get_untracked()),
            ("board", board.get_untracked()),
            ("period", untrack(period)),
        ];
        open_paper(plan(), name, query, failed);
    };
    view! {
        <section class="papers">
            <h1>"Papers"</h1>
            <form class="filters paper-options" on:submit=|ev| ev.prevent_default()>
                <label>"Version "
                    <select bind:value=at><option value="">"Now"</option>{snapshot_options}</select>
                </label>
                <label>"Reporting period " <input name="period" prop:value=period on:input=move |ev| chosen.set(Some(event_target_value(&ev))) size="8" /></label>
                <label>"Board (exception report) "
                    <select bind:value=board>
                        <option value="">"Whole partnership"</option>
                        {move || boards().into_iter().map(|(id, n)| view! { <option value=id>{n}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Compare from "
                    <select bind:value=from><option value="">"—"</option>{snapshot_options}</select>
                </label>
            </form>
            {move || match exports.get() {
                None => view! { <p>"Loading the list of exports…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="notice">{format!("{e} Exports are made by the server.")}</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <ul class="exports">
                        {list.into_iter().map(|x| {
                            let name = x.name.clone();
                            view! {
                                <li>
                                    <a class="export" data-export=x.name.clone() href="#"
                                       on:click=move |ev| { ev.prevent_default(); save(name.clone()) }>{x.description.clone()}</a>
                                    " " <span class="muted">{x.name.clone()}</span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
            {move || failed.get().map(|e| view! { <p class="notice" role="alert">{e}</p> })}
            <Publications period=Signal::derive(period) />
            <TrackerImport />
        </section>
    }
}

fn file_of(ev: &web_sys::Event) -> Option<web_sys::File> {
    let input: web_sys::HtmlInputElement = ev.target()?.dyn_into().ok()?;
    input.files()?.get(0)
}

/// Import an existing action tracker: choose the file, check the mapping and the preview,
/// then create it all in one change.
#[component]
fn TrackerImport() -> impl IntoView {
    let model = expect_context::<Model>();
    let file = StoredValue::new_local(None::<web_sys::File>);
    let preview = RwSignal::new(None::<TrackerPreview>);
    let error = RwSignal::new(None::<String>);
    let done = RwSignal::new(None::<String>);
    let mapping = RwSignal::new(std::collections::BTreeMap::<String, String>::new());
    let run = move |commit: bool| {
        let Some(f) = file.get_value() else { return };
        let Some(plan) = model.doc.get_untracked().map(|d| d.to_string()) else {
            return;
        };
        let format = if f.name().to_lowercase().ends_with(".xlsx") {
            "xlsx"
        } else {
            "csv"
        };
        let map = mapping
            .get_untracked()
            .iter()
            .filter(|(_, c)| !c.is_empty())
            .map(|(k, c)| format!("{k}:{c}"))
            .collect::<Vec<_>>()
            .join(",");
        leptos::task::spawn_local(async move {
            match api::import_tracker(&plan, &f, format, &map, commit).await {
                Ok(v) => {
                    error.set(None);
                    mapping.set(
                        v.mapping
                            .iter()
                            .map(|(f, c)| (f.key().to_string(), c.to_string()))
                            .collect(),
                    );
                    if v.imported {
                        done.set(Some(format!("Imported {} actions.", v.import.new_actions)));
                        preview.set(None);
                    } else {
                        preview.set(Some(v));
                    }
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let on_file = move |ev: web_sys::Event| {
        file.set_value(file_of(&ev));
        mapping.set(Default::default());
        done.set(None);
        run(false);
    };
    view! {
        <section class="tracker-import">
            <h2>"Import an action tracker"</h2>
            <p>"A spreadsheet with one action per row (CSV or Excel .xlsx). You choose which column is which and see what will be created before anything changes."</p>
            <label>"Tracker file " <input type="file" name="tracker" accept=".csv,.xlsx" on:change=on_file disabled=move || !model.can_edit() /></label>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || done.get().map(|d| view! { <p class="notice" role="status">{d}</p> })}
            {move || preview.get().map(|v| view! { <ImportPreview v=v mapping=mapping run=run /> })}
        </section>
    }
}

/// The mapping, the first rows, what will be created and the bad rows.
#[component]
fn ImportPreview(
    v: TrackerPreview,
    mapping: RwSignal<std::collections::BTreeMap<String, String>>,
    run: impl Fn(bool) + Copy + 'static,
) -> impl IntoView {
    let TrackerPreview {
        header,
        first_rows: rows,
        fields,
        import,
        ..
    } = v;
    let fields: Vec<(String, String)> = fields
        .into_iter()
        .map(|(f, label)| (f.key().to_string(), label))
        .collect();
    let (bad, new_actions) = (import.bad, import.new_actions);
    let (themes, objectives) = (import.new_themes, import.new_objectives);
    let can_import = bad.is_empty() && new_actions > 0;
    view! {
        <div class="import-preview">
            <h3>"Columns"</h3>
            <div class="mapping">
                {fields.into_iter().map(|(key, label)| {
                    let k = key.clone();
                    let none_key = key.clone();
                    let header = header.clone();
                    view! {
                        <label>{label}" "
                            <select data-field=key.clone() on:change=move |ev| {
                                let c = event_target_value(&ev);
                                mapping.update(|m| { m.insert(k.clone(), c); });
                                run(false);
                            }>
                                <option value="" selected=move || mapping.with(|m| m.get(&none_key).is_none_or(String::is_empty))>"(none)"</option>
                                {header.iter().enumerate().map(|(i, h)| {
                                    let key = key.clone();
                                    view! { <option value=i.to_string() selected=move || mapping.with(|m| m.get(&key) == Some(&i.to_string()))>{h.clone()}</option> }
                                }).collect_view()}
                            </select>
                        </label>
                    }
                }).collect_view()}
            </div>
            <h3>"First rows"</h3>
            <div class="table-wrap"><table>
                <thead><tr>{header.iter().map(|h| view! { <th>{h.clone()}</th> }).collect_view()}</tr></thead>
                <tbody>{rows.iter().map(|r| view! { <tr>{r.iter().map(|c| view! { <td>{c.clone()}</td> }).collect_view()}</tr> }).collect_view()}</tbody>
            </table></div>
            <p class="import-summary">{format!(
                "Will create {new_actions} actions, {} new themes{}, {} new objectives.",
                themes.len(),
                if themes.is_empty() { String::new() } else { format!(" ({})", themes.join(", ")) },
                objectives.len()
            )}</p>
            {(!bad.is_empty()).then(|| view! {
                <div class="bad-rows" role="alert">
                    <p>{format!("{} rows cannot be imported; nothing will be imported until they are fixed in the file or the mapping:", bad.len())}</p>
                    <ul>{bad.iter().map(|b| view! { <li>{format!("Row {}: {}", b.row, b.reason)}</li> }).collect_view()}</ul>
                </div>
            })}
            <button class="do-import" disabled=!can_import on:click=move |_| run(true)>{format!("Import {new_actions} actions")}</button>
        </div>
    }
}

/// Published Board packs: their public addresses (no sign-in), and for owners, publish the
/// period's pack or unpublish one.
#[component]
fn Publications(period: Signal<String>) -> impl IntoView {
    let model = expect_context::<Model>();
    let plan = move || model.doc.get().map(|d| d.to_string()).unwrap_or_default();
    let owner = move || model.role.get().as_deref() == Some("owner");
    let bump = RwSignal::new(0u32);
    let error = RwSignal::new(None::<String>);
    let list = LocalResource::new(move || {
        bump.track();
        let plan = plan();
        async move { api::publications(&plan).await.unwrap_or_default() }
    });
    let act = crate::views::widgets::request::server_action(error, bump);
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    let publish = move |_| {
        let (plan, period) = (plan(), period.get_untracked());
        act(Box::pin(async move {
            api::publish(&plan, &period).await.map(|_| ())
        }));
    };
    view! {
        <section class="publications" aria-labelledby="publish-heading">
            <h2 id="publish-heading">"Published Board packs"</h2>
            <p class="muted small">"A published pack is kept as it was made, at an address anyone can open with no sign-in (for the council's website). Nothing else of the plan is reachable from it."</p>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || owner().then(|| view! {
                <p><button type="button" class="publish" on:click=publish>{move || format!("Publish the Board pack for {}", period.get())}</button></p>
            })}
            <ul class="published">
                {move || list.get().unwrap_or_default().into_iter().map(|p| {
                    let (page, pdf) = (format!("{origin}{}", p.url), format!("{origin}{}", p.pdf));
                    let id = p.id.clone();
                    view! {
                        <li data-publication=p.id.clone()>
                            {p.title.clone()} " · "
                            <a class="published-pdf" href=pdf.clone()>{pdf.clone()}</a> " · "
                            <a class="published-page" href=page.clone()>"page"</a>
                            {owner().then(|| view! {
                                " " <button type="button" class="unpublish" on:click=move |_| {
                                    let (plan, id) = (plan(), id.clone());
                                    act(Box::pin(async move { api::unpublish(&plan, &id).await }));
                                }>"Unpublish"</button>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}
