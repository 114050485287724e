//! Timings the benchmark reads over WebDriver: each is a list of `[start, end]` pairs (in
//! milliseconds since navigation) in `window.plansyncPerf[name]`. Recording costs one property lookup and an array push.
//! In the sync worker a span goes to the page (see [`send_to`]), which records it on the
//! page's clock.

use std::cell::RefCell;
use wasm_bindgen::{JsCast, JsValue};

/// This context's clock: the page's, or the worker's.
fn performance() -> Option<web_sys::Performance> {
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()?
        .dyn_into()
        .ok()
}

/// Milliseconds since the page's navigation started (in the worker, since it started).
pub fn now() -> f64 {
    performance().map(|p| p.now()).unwrap_or_default()
}

/// Milliseconds since the epoch at which this context's clock began.
pub fn origin() -> f64 {
    performance().map(|p| p.time_origin()).unwrap_or_default()
}

type Sink = Box<dyn Fn(&str, f64, f64)>;

thread_local! {
    static SINK: RefCell<Option<Sink>> = const { RefCell::new(None) };
    static RECORDED: RefCell<std::collections::HashSet<&'static str>> =
        Default::default();
}

/// Where spans go where there is no page (the worker): `sink(name, start, end)`, in
/// milliseconds since the epoch.
pub fn send_to(sink: impl Fn(&str, f64, f64) + 'static) {
    SINK.with(|s| *s.borrow_mut() = Some(Box::new(sink)));
}

/// Records the span from `start` to now under `name`.
pub fn record(name: &str, start: f64) {
    record_span(name, start, now());
}

/// Records a span of another clock's (ms since the epoch) on this page's clock.
pub fn record_epoch(name: &str, start: f64, end: f64) {
    let o = origin();
    record_span(name, start - o, end - o);
}

fn record_span(name: &str, start: f64, end: f64) {
    let Some(window) = web_sys::window() else {
        let o = origin();
        SINK.with(|s| {
            if let Some(sink) = s.borrow().as_ref() {
                sink(name, start + o, end + o);
            }
        });
        return;
    };
    let all = property(&window, "plansyncPerf", || js_sys::Object::new().into());
    let list = property(&all, name, || js_sys::Array::new().into());
    let span = js_sys::Array::of2(&JsValue::from_f64(start), &JsValue::from_f64(end));
    list.unchecked_into::<js_sys::Array>().push(&span);
}

/// `target[key]`, first set to `make()` if it is not an object yet.
fn property(target: &JsValue, key: &str, make: impl FnOnce() -> JsValue) -> JsValue {
    let key = JsValue::from_str(key);
    js_sys::Reflect::get(target, &key)
        .ok()
        .filter(|v| v.is_object())
        .unwrap_or_else(|| {
            let value = make();
            let _ = js_sys::Reflect::set(target, &key, &value);
            value
        })
}

/// Records, once per page load, the span from navigation to the next frame under `name`
/// (a view first drawn with the plan).
pub fn first_frame(name: &'static str) {
    if RECORDED.with(|r| r.borrow_mut().insert(name)) {
        leptos::prelude::request_animation_frame(move || record(name, 0.0));
    }
}
