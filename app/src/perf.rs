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
    let key = JsValue::from_str("plansyncPerf");
    let all = js_sys::Reflect::get(&window, &key)
        .ok()
        .filter(|v| v.is_object())
        .unwrap_or_else(|| {
            let o = js_sys::Object::new().into();
            let _ = js_sys::Reflect::set(&window, &key, &o);
            o
        });
    let name = JsValue::from_str(name);
    let list = js_sys::Reflect::get(&all, &name)
        .ok()
        .filter(|v| v.is_object())
        .unwrap_or_else(|| {
            let a = js_sys::Array::new().into();
            let _ = js_sys::Reflect::set(&all, &name, &a);
            a
        });
    let span = js_sys::Array::of2(&JsValue::from_f64(start), &JsValue::from_f64(now()));
    list.unchecked_into::<js_sys::Array>().push(&span);
}
