//! Timings the benchmark reads over WebDriver: each is a list of milliseconds in
//! `window.plansyncPerf[name]`. Recording costs one property lookup and an array push.

use wasm_bindgen::JsValue;

/// Milliseconds since the page's navigation started.
pub fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_default()
}

/// Records `now() - start` under `name`.
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
    js_sys::Array::from(&list).push(&JsValue::from_f64(now() - start));
}
