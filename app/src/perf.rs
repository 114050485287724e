//! Timings the benchmark reads over WebDriver: each is a list of `[start, end]` pairs (in
//! milliseconds since navigation) in `window.plansyncPerf[name]`. Recording costs one property lookup and an array push.

use wasm_bindgen::{JsCast, JsValue};

/// Milliseconds since the page's navigation started.
pub fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_default()
}

/// Records the span from `start` to now under `name`.
pub fn record(name: &str, start: f64) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let all = property(&window, "plansyncPerf", || js_sys::Object::new().into());
    let list = property(&all, name, || js_sys::Array::new().into());
    let span = js_sys::Array::of2(&JsValue::from_f64(start), &JsValue::from_f64(now()));
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

thread_local! {
    static RECORDED: std::cell::RefCell<std::collections::HashSet<&'static str>> =
        Default::default();
}

/// Records, once per page load, the span from navigation to the next frame under `name`
/// (a view first drawn with the plan).
pub fn first_frame(name: &'static str) {
    if RECORDED.with(|r| r.borrow_mut().insert(name)) {
        leptos::prelude::request_animation_frame(move || record(name, 0.0));
    }
}
