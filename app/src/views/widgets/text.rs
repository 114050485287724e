//! A text field of the plan edited in place as collaborative text: what I type is spliced
//! into the document at once, and a remote edit updates the box without moving my caret or
//! eating my keystrokes.

use crate::model::Model;
use crate::perf;
use leptos::prelude::*;
use plansync_shared::TextField;
use plansync_shared::{rebase_typing, transform_caret};
use std::cell::Cell;
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlTextAreaElement};

/// The value and selection of an `<input>` or `<textarea>`.
enum TextBox {
    Input(HtmlInputElement),
    Area(HtmlTextAreaElement),
}

impl TextBox {
    fn of(el: &web_sys::Element) -> Option<Self> {
        if let Some(i) = el.dyn_ref::<HtmlInputElement>() {
            Some(TextBox::Input(i.clone()))
        } else {
            el.dyn_ref::<HtmlTextAreaElement>()
                .map(|a| TextBox::Area(a.clone()))
        }
    }
    fn value(&self) -> String {
        match self {
            TextBox::Input(i) => i.value(),
            TextBox::Area(a) => a.value(),
        }
    }
    fn selection(&self) -> (u32, u32) {
        let (s, e) = match self {
            TextBox::Input(i) => (i.selection_start(), i.selection_end()),
            TextBox::Area(a) => (a.selection_start(), a.selection_end()),
        };
        (s.ok().flatten().unwrap_or(0), e.ok().flatten().unwrap_or(0))
    }
    fn set(&self, value: &str, focused: bool, sel: Option<(u32, u32)>) {
        match self {
            TextBox::Input(i) => i.set_value(value),
            TextBox::Area(a) => a.set_value(value),
        }
        if let (true, Some((s, e))) = (focused, sel) {
            let _ = match self {
                TextBox::Input(i) => i.set_selection_range(s, e),
                TextBox::Area(a) => a.set_selection_range(s, e),
            };
        }
    }
}

thread_local! {
    /// When the key behind the next input event went down, for the keystroke timing.
    static KEY_DOWN: Cell<Option<f64>> = const { Cell::new(None) };
}

/// One collaborative text field: a one-line box, or a growing box for longer text.
#[component]
pub fn CollabText(
    /// Which field of the plan.
    field: TextField,
    /// Its text in the document now.
    #[prop(into)]
    value: Signal<String>,
    /// What the box is for, for screen readers.
    #[prop(into)]
    label: String,
    /// Several lines.
    #[prop(optional)]
    multiline: bool,
    /// Extra CSS class.
    #[prop(optional, into)]
    class: String,
    /// Shown when empty.
    #[prop(optional, into)]
    placeholder: String,
    /// Read-only.
    #[prop(optional, into)]
    readonly: Signal<bool>,
) -> impl IntoView {
    let model = expect_context::<Model>();
    let announcer = expect_context::<crate::views::widgets::announcer::Announcer>();
    let label_now = label.clone();
    let node = NodeRef::<leptos::html::Input>::new();
    let area = NodeRef::<leptos::html::Textarea>::new();
    // The document text the box shows now; what was typed is compared with it.
    let shown = StoredValue::new(value.get_untracked());
    let composing = StoredValue::new(false);
    let element = move || -> Option<web_sys::Element> {
        if multiline {
            area.get_untracked().map(|e| e.into())
        } else {
            node.get_untracked().map(|e| e.into())
        }
    };
    // My operations the page's plan does not include yet, with the box's text after each,
    // and the plan's text as the box last saw it.
    let sent = StoredValue::new(Vec::<(u64, String)>::new());
    let seen = StoredValue::new(value.get_untracked());
    // The plan's text changed: put it in the box, with what I typed since that the plan
    // does not include yet made on top of it, keeping my caret where my words are.
    Effect::new(move || {
        let text = value.get();
        if composing.get_value() {
            return;
        }
        let Some(el) = element() else { return };
        let Some(b) = TextBox::of(&el) else { return };
        let acked = model.acked();
        let mut base = seen.get_value();
        sent.update_value(|s| {
            while s.first().is_some_and(|(q, _)| *q <= acked) {
                base = s.remove(0).1;
            }
        });
        seen.set_value(text.clone());
        let current = b.value();
        let target = if sent.with_value(Vec::is_empty) {
            text
        } else {
            rebase_typing(&base, &current, &text)
        };
        if current == target {
            shown.set_value(target);
            return;
        }
        let focused = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element())
            .is_some_and(|a| a == el);
        let old: Vec<u16> = current.encode_utf16().collect();
        let new: Vec<u16> = target.encode_utf16().collect();
        let (s, e) = b.selection();
        let sel = (
            transform_caret(&old, &new, s as usize) as u32,
            transform_caret(&old, &new, e as usize) as u32,
        );
        b.set(&target, focused, Some(sel));
        shown.set_value(target);
        if focused {
            announcer.say(format!(
                "{label_now}: changed by someone else. Your cursor stays where you were."
            ));
        }
    });
    let apply = move || {
        let Some(b) = element().and_then(|el| TextBox::of(&el)) else {
            return;
        };
        let typed = b.value();
        if typed == shown.get_value() {
            return;
        }
        if let Some(seq) = model.edit_text(&field, &shown.get_value(), &typed) {
            sent.update_value(|s| s.push((seq, typed.clone())));
            shown.set_value(typed);
        }
        if let Some(start) = KEY_DOWN.with(Cell::take) {
            request_animation_frame(move || perf::record("keystroke", start));
        }
    };
    let apply2 = apply.clone();
    let on_input = move |_: web_sys::Event| {
        if !composing.get_value() {
            apply2();
        }
    };
    // From when the browser made the event, so time it waited behind other work counts.
    let on_keydown =
        move |ev: web_sys::KeyboardEvent| KEY_DOWN.with(|k| k.set(Some(ev.time_stamp())));
    let on_comp_start = move |_: web_sys::CompositionEvent| composing.set_value(true);
    let on_comp_end = move |_: web_sys::CompositionEvent| {
        composing.set_value(false);
        apply();
    };
    let class = format!("collab {class}");
    let initial = value.get_untracked();
    if multiline {
        view! {
            <textarea
                node_ref=area
                class=class
                aria-label=label
                placeholder=placeholder
                readonly=move || readonly.get()
                rows="2"
                prop:value=initial
                on:input=on_input
                on:keydown=on_keydown
                on:compositionstart=on_comp_start
                on:compositionend=on_comp_end
            ></textarea>
        }
        .into_any()
    } else {
        view! {
            <input
                node_ref=node
                type="text"
                class=class
                aria-label=label
                placeholder=placeholder
                readonly=move || readonly.get()
                prop:value=initial
                on:input=on_input
                on:keydown=on_keydown
                on:compositionstart=on_comp_start
                on:compositionend=on_comp_end
            />
        }
        .into_any()
    }
}
