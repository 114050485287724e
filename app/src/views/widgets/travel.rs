//! A lead's own direction of travel for a period, set with the reason.

use crate::model::Model;
use crate::views::widgets::period::current_period;
use leptos::prelude::*;
use plansync_shared::PlanOp;
use plansync_shared::TravelItem;

/// A lead's own direction of travel for this period, with the reason (shown as such in
/// every paper).
#[component]
pub fn TravelOverride(item: TravelItem) -> impl IntoView {
    let model = expect_context::<Model>();
    let direction = RwSignal::new(String::new());
    let reason = RwSignal::new(String::new());
    let period = current_period();
    let save = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        let by = model
            .identity
            .get_untracked()
            .map(|i| format!("{}, {}", i.name, i.agency))
            .unwrap_or_default();
        let set = plansync_shared::Direction::parse(&direction.get_untracked())
            .ok()
            .map(|d| plansync_shared::DirectionOverride {
                direction: d,
                reason: reason.get_untracked(),
                by,
            });
        let item = item.clone();
        model.apply(PlanOp::SetDirectionOverride { item, period, set });
    };
    view! {
        <form class="travel-override" on:submit=save>
            <h3>{format!("Direction of travel for {period}")}</h3>
            <label>"Set by a lead "
                <select bind:value=direction>
                    <option value="">"As derived from RAG"</option>
                    {plansync_shared::Direction::ALL.iter().map(|d| view! { <option value=d.as_str()>{d.as_str()}</option> }).collect_view()}
                </select>
            </label>
            <label>" because " <input name="reason" bind:value=reason placeholder="Why the RAG does not tell the story" /></label>
            <button type="submit">"Save"</button>
        </form>
    }
}
