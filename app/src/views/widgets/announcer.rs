//! Announcements for screen readers: what changed, said once, politely.

use leptos::prelude::*;

/// Tells screen readers, politely, about changes others make to what I am reading.
#[derive(Clone, Copy)]
pub struct Announcer {
    said: RwSignal<String>,
    last: StoredValue<Option<(String, f64)>>,
}

impl Announcer {
    /// Announces `message`, unless it was announced a moment ago.
    pub fn say(&self, message: String) {
        let now = js_sys::Date::now();
        let recent = self.last.with_value(|l| {
            l.as_ref()
                .is_some_and(|(m, at)| *m == message && now - at < ANNOUNCE_AGAIN_MS)
        });
        if recent {
            return;
        }
        self.last.set_value(Some((message.clone(), now)));
        self.said.set(message);
    }
}

/// The live region the [`Announcer`] speaks through.
#[component]
pub fn Announcements() -> impl IntoView {
    let a = expect_context::<Announcer>();
    view! { <div class="visually-hidden" id="announcements" role="status" aria-live="polite">{move || a.said.get()}</div> }
}

/// How long the same announcement waits before it is made again (someone typing into the
/// field I am in would otherwise be read out at every keystroke).
const ANNOUNCE_AGAIN_MS: f64 = 8_000.0;

impl Default for Announcer {
    fn default() -> Self {
        Announcer {
            said: RwSignal::new(String::new()),
            last: StoredValue::new(None),
        }
    }
}
