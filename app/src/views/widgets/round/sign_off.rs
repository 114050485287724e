//! Sign-off: each board's chair signs off its return for the round; a return changed since
//! is marked, with a link to compare.

use crate::model::Model;
use crate::route::Route;
use leptos::prelude::*;
use plansync_shared::{
    board_return, latest_sign_offs, BoardId, DocumentId, PersonLink, Round, SignOff, SignOffRequest,
};

/// Each board's sign-off for the round (or `only` that board's): signed off (by whom,
/// when), changed since sign-off, or not yet; the board's confirmed chair signs off here.
#[component]
pub fn SignOffs(
    doc: DocumentId,
    round: Round,
    only: Option<BoardId>,
    links: RwSignal<Vec<PersonLink>>,
) -> impl IntoView {
    let model = expect_context::<Model>();
    let plan = doc.to_string();
    let bump = RwSignal::new(0u32);
    let error = RwSignal::new(None::<String>);
    // The boards' returns for the round: when one changes, the server's marks of what
    // changed since sign-off are read again (not at every keystroke elsewhere in the plan).
    let returns = Memo::new({
        let round = round.clone();
        move |_| {
            model.plan.with(|p| {
                p.as_ref().map(|p| {
                    p.boards
                        .iter()
                        .map(|b| board_return(p, &b.id, &round))
                        .collect::<Vec<_>>()
                })
            })
        }
    });
    let signed = LocalResource::new({
        let plan = plan.clone();
        move || {
            bump.track();
            returns.track();
            let plan = plan.clone();
            async move { crate::api::sign_offs(&plan).await.unwrap_or_default() }
        }
    });
    let me = crate::membership::of(&plan).map(|m| m.participant);
    let round_id = round.id.clone();
    let rows = move || {
        let all = signed.get().unwrap_or_default();
        let latest: Vec<SignOff> = latest_sign_offs(&all, &round_id)
            .into_iter()
            .cloned()
            .collect();
        let links = links.get();
        model.plan.with(|p| {
            p.as_ref()
                .map(|p| {
                    p.boards
                        .iter()
                        .filter(|b| only.as_ref().is_none_or(|o| o == &b.id))
                        .map(|b| {
                            let state = latest.iter().find(|s| s.board == b.id).cloned();
                            let chair = b.chair.as_ref().is_some_and(|c| {
                                links.iter().any(|l| {
                                    Some(l.participant) == me && &l.person == c && l.confirmed
                                })
                            });
                            (b.id.clone(), b.name.clone(), state, chair)
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let sign = move |board: BoardId| {
        let request = SignOffRequest {
            round: round.id.clone(),
            board,
        };
        let plan = plan.clone();
        leptos::task::spawn_local(async move {
            match crate::api::sign_off(&plan, &request).await {
                Ok(_) => {
                    error.set(None);
                    bump.update(|n| *n += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <h3>"Sign-off"</h3>
        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        <ul class="sign-offs">
            {move || rows().into_iter().map(|(id, name, state, chair)| {
                let sign = sign.clone();
                let board = id.clone();
                let word = match &state {
                    Some(s) => s.line(),
                    None => format!("{name}: not signed off yet"),
                };
                let changed = state.as_ref().is_some_and(|s| s.changed);
                view! {
                    <li data-board=id.to_string() data-signed=state.is_some().to_string() data-changed=changed.to_string()>
                        {word}
                        {changed.then(|| {
                            let compare = state.as_ref().and_then(|s| s.snapshot);
                            view! {
                                " " <a class="compare-signed" href=Route::History(doc, compare).href()>"Compare the signed version with now"</a>
                            }
                        })}
                        {chair.then(|| view! {
                            " " <button type="button" class="sign-off" on:click=move |_| sign(board.clone())>
                                {if state.is_some() { "Sign off again" } else { "Sign off this board's return" }}
                            </button>
                        })}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}
