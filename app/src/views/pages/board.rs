//! One board (the Police and Crime Board or a sub-group): its remit and chair; its RAG summary
//! and exceptions for the period; the actions it leads and those it contributes to, apart;
//! the indicators its actions link to; and its exception report.

use crate::model::{today, Model};
use crate::route::Route;
use crate::views::widgets::charts::RagBar;
use crate::views::widgets::paper::open_paper;
use crate::views::widgets::period::{counted_period, tracker_link, PeriodPicker};
use crate::views::widgets::rag::RagChip;
use crate::views::widgets::text::CollabText;
use leptos::prelude::*;
use plansync_shared::{
    is_exception, summary, Action, BoardId, Plan, Rag, ReportingPeriod, TextField,
};

/// The actions of a plan a board leads, and those it only contributes to, in plan order.
fn actions_of<'p>(plan: &'p Plan, board: &BoardId) -> (Vec<&'p Action>, Vec<&'p Action>) {
    let all = plan
        .themes
        .iter()
        .flat_map(|t| &t.objectives)
        .flat_map(|o| &o.actions);
    let leads = all
        .clone()
        .filter(|a| a.lead_board.as_ref() == Some(board))
        .collect();
    let contributes = all
        .filter(|a| a.lead_board.as_ref() != Some(board) && a.contributing_boards.contains(board))
        .collect();
    (leads, contributes)
}

/// One board's page.
#[component]
pub fn BoardPage(id: String) -> impl IntoView {
    let model = expect_context::<Model>();
    let board_id = BoardId::new(id);
    let chosen = RwSignal::new(None::<ReportingPeriod>);
    let period = counted_period(chosen);
    let b = board_id.clone();
    let board = Memo::new(move |_| {
        model.plan.with(|p| {
            p.as_ref()
                .and_then(|p| p.boards.iter().find(|x| x.id == b).cloned())
        })
    });
    let b = board_id.clone();
    let chair = move || {
        model.plan.with(|p| {
            p.as_ref()
                .map(|p| {
                    let chair = board.with(|x| x.as_ref().and_then(|x| x.chair.clone()));
                    let name = p.person_name(chair.as_ref());
                    let agency = p.agency_of(chair.as_ref());
                    match (name.is_empty(), agency.is_empty()) {
                        (true, _) => "No chair named".to_string(),
                        (false, true) => format!("Chair: {name}"),
                        (false, false) => format!("Chair: {name}, {agency}"),
                    }
                })
                .unwrap_or_default()
        })
    };
    let remit = {
        let b = b.clone();
        Signal::derive(move || {
            model.plan.with(|p| {
                p.as_ref()
                    .and_then(|p| p.boards.iter().find(|x| x.id == b))
                    .map(|x| x.remit.clone())
                    .unwrap_or_default()
            })
        })
    };
    let failed = RwSignal::new(None::<String>);
    let report = {
        let b = b.clone();
        move |_| {
            let Some(doc) = model.doc.get_untracked() else {
                return;
            };
            open_paper(
                doc.to_string(),
                "exceptions.html".into(),
                vec![
                    ("board", b.to_string()),
                    ("period", period.get_untracked().key()),
                ],
                failed,
            );
        }
    };
    view! {
        <section class="board-view">
            {move || match board.get() {
                None => view! {
                    <h1 tabindex="-1">"Board not found"</h1>
                    <p class="notice">"This board is not in the plan (it may have been removed). Open a board from the dashboard."</p>
                }.into_any(),
                Some(x) => {
                    let b = b.clone();
                    view! {
                        <h1 tabindex="-1">{x.name.clone()}</h1>
                        <p class="chair">{chair}</p>
                        <div class="field">
                            <span class="label">"Remit"</span>
                            <CollabText field=TextField::BoardRemit(b.clone()) value=remit label="Remit" multiline=true />
                        </div>
                        <div class="dashboard-top">
                            <PeriodPicker chosen period />
                            <button class="report" on:click=report.clone()>"Open this board's exception report"</button>
                        </div>
                        {move || failed.get().map(|e| view! { <p class="notice" role="alert">{e}</p> })}
                        <BoardSignOff board=b.clone() />
                        <BoardFigures board=b.clone() period />
                        <BoardActions board=b.clone() period />
                    }.into_any()
                }
            }}
        </section>
    }
}

/// The board's RAG summary, exceptions and linked indicators for the period.
#[component]
fn BoardFigures(board: BoardId, period: Memo<ReportingPeriod>) -> impl IntoView {
    let model = expect_context::<Model>();
    move || {
        let doc = model.doc.get()?;
        let p = period.get();
        model.plan.with(|plan| {
            let plan = plan.as_ref()?;
            let s = summary(plan, p, &today(), Some(&board));
            let (leads, contributes) = actions_of(plan, &board);
            let exceptions: Vec<(String, String, Rag)> = leads
                .iter()
                .chain(&contributes)
                .filter(|a| is_exception(a, p))
                .map(|a| {
                    (
                        a.id.to_string(),
                        a.title.clone(),
                        a.rag.get(&p).copied().unwrap_or(Rag::NotRated),
                    )
                })
                .collect();
            let indicators: Vec<(String, String, bool)> = plan
                .indicators
                .iter()
                .filter(|i| leads.iter().chain(&contributes).any(|a| a.indicator.as_ref() == Some(&i.id)))
                .map(|i| (i.id.to_string(), i.name.clone(), s.indicators_out.contains(&i.id)))
                .collect();
            let b = board.to_string();
            Some(view! {
                <section class="panel" aria-labelledby="board-summary">
                    <h2 id="board-summary">{format!("{p}: {} actions", s.all.rag.total())}</h2>
                    <RagBar counts=s.all.rag />
                    <p class="counts">
                        {Rag::ALL.iter().map(|r| {
                            let word = r.as_str();
                            let b = b.clone();
                            view! {
                                <a class=format!("count count-{}", word.replace(' ', "-")) data-rag=word
                                   href=tracker_link(doc, p, move |v| { v.board = Some(b); v.rag = Some(word.to_string()); })>
                                    {format!("{} {word}", s.all.rag.get(*r))}
                                </a>
                            }
                        }).collect_view()}
                        <a data-count="worsening" href=tracker_link(doc, p, { let b = b.clone(); move |v| { v.board = Some(b); v.travel = Some("worsening".into()); } })>
                            {format!("{} worsening", s.all.travel.worsening)}
                        </a>
                        <a data-count="overdue" href=tracker_link(doc, p, { let b = b.clone(); move |v| { v.board = Some(b); v.overdue = true; } })>
                            {format!("{} overdue", s.all.overdue)}
                        </a>
                    </p>
                </section>
                <section class="panel" aria-labelledby="board-exceptions">
                    <h2 id="board-exceptions">{format!("Exceptions ({})", exceptions.len())}</h2>
                    {if exceptions.is_empty() {
                        view! { <p>"No action this board leads or contributes to is red, amber or worsening."</p> }.into_any()
                    } else {
                        view! {
                            <ul class="exceptions">
                                {exceptions.into_iter().map(|(id, title, rag)| {
                                    let href = Route::Action(doc, id.clone()).href();
                                    view! {
                                        <li data-action=id><RagChip rag period=p.to_string() />" " <a href=href>{title}</a></li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                </section>
                <section class="panel" aria-labelledby="board-indicators">
                    <h2 id="board-indicators">"Linked indicators"</h2>
                    {if indicators.is_empty() {
                        view! { <p>"None of this board's actions is linked to an indicator."</p> }.into_any()
                    } else {
                        view! {
                            <ul>
                                {indicators.into_iter().map(|(id, name, out)| {
                                    let href = Route::Indicators(doc, Some(id.clone())).href();
                                    view! {
                                        <li data-indicator=id>
                                            <a href=href>{name}</a>
                                            {out.then(|| view! { " · " <strong class="out-of-tolerance">"out of tolerance"</strong> })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                </section>
            })
        })
    }
}

/// The actions the board leads and those it contributes to, as two lists.
#[component]
fn BoardActions(board: BoardId, period: Memo<ReportingPeriod>) -> impl IntoView {
    let model = expect_context::<Model>();
    move || {
        let doc = model.doc.get()?;
        let p = period.get();
        model.plan.with(|plan| {
            let plan = plan.as_ref()?;
            let (leads, contributes) = actions_of(plan, &board);
            let list = |title: &'static str, class: &'static str, actions: Vec<&Action>| {
                let n = actions.len();
                view! {
                    <section class=format!("panel {class}") aria-label=title>
                        <h2>{format!("{title} ({n})")}</h2>
                        <ul class="board-actions">
                            {actions.into_iter().map(|a| {
                                let rag = a.rag.get(&p).copied().unwrap_or(Rag::NotRated);
                                view! {
                                    <li data-action=a.id.to_string()>
                                        <RagChip rag period=p.to_string() />" "
                                        <a href=Route::Action(doc, a.id.to_string()).href()>{a.title.clone()}</a>
                                        <span class="muted small">{a.due.as_ref().map(|d| format!(" · due {d}"))}</span>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </section>
                }
            };
            Some(view! {
                {list("Actions it leads", "leads", leads)}
                {list("Actions it contributes to", "contributes", contributes)}
            })
        })
    }
}

/// The board's sign-off for the open reporting round (its chair signs off here too).
#[component]
fn BoardSignOff(board: BoardId) -> impl IntoView {
    let model = expect_context::<Model>();
    let round = Memo::new(move |_| {
        model
            .plan
            .with(|p| p.as_ref().and_then(plansync_shared::current_round).cloned())
    });
    move || {
        let (doc, round) = (model.doc.get()?, round.get()?);
        let links = crate::views::widgets::round::plan_links(doc);
        Some(view! {
            <section class="panel board-sign-off" aria-label="Sign-off">
                <crate::views::widgets::round::SignOffs doc round only=Some(board.clone()) links />
            </section>
        })
    }
}
