//! The page's end of the sync worker: starts it from the app's own module, sends it
//! [`ToWorker`] messages and hands what it says to the model; questions with an answer
//! (the plan at a snapshot, the history) are awaited.

use super::protocol::{FromWorker, ToWorker};
use plansync_shared::{DocumentId, HistoryEntry, Plan};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

type Answer = Box<dyn FnOnce(FromWorker)>;

struct Inner {
    worker: Worker,
    next: Cell<u64>,
    waiting: RefCell<HashMap<u64, Answer>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

/// The sync worker, as the page holds it; cheap to clone.
#[derive(Clone)]
pub struct SyncWorker {
    inner: Rc<Inner>,
}

/// The URLs of the app's module and its WebAssembly, as Trunk's page preloads them.
fn module_urls() -> Option<(String, String)> {
    let document = web_sys::window()?.document()?;
    let href = |css: &str| {
        document
            .query_selector(css)
            .ok()
            .flatten()
            .and_then(|l| l.dyn_into::<web_sys::HtmlLinkElement>().ok())
            .map(|l| l.href())
    };
    Some((
        href("link[rel=modulepreload]")?,
        href("link[rel=preload][type=\"application/wasm\"]")?,
    ))
}

impl SyncWorker {
    /// Starts the worker; `hear` gets everything it says that is not an answer.
    pub fn start(hear: impl Fn(FromWorker) + 'static) -> Result<Self, String> {
        let (module, wasm) = module_urls().ok_or("the app's module was not found on the page")?;
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        let worker = Worker::new_with_options("/worker.js", &options)
            .map_err(|e| format!("the sync worker could not start: {e:?}"))?;
        // Its first message: the module and WebAssembly to run (the page's own).
        let start = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&start, &"app".into(), &module.into());
        let _ = js_sys::Reflect::set(&start, &"wasm".into(), &wasm.into());
        worker
            .post_message(&start)
            .map_err(|e| format!("the sync worker could not start: {e:?}"))?;
        let inner = Rc::new_cyclic(|weak: &std::rc::Weak<Inner>| {
            let weak = weak.clone();
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                let Some(text) = e.data().as_string() else {
                    return;
                };
                let Ok(m) = serde_json::from_str::<FromWorker>(&text) else {
                    web_sys::console::warn_1(&"the sync worker said something unreadable".into());
                    return;
                };
                let req = match &m {
                    FromWorker::PlanAt { req, .. } | FromWorker::History { req, .. } => Some(*req),
                    _ => None,
                };
                let answer = req.and_then(|r| {
                    weak.upgrade()
                        .and_then(|i| i.waiting.borrow_mut().remove(&r))
                });
                match answer {
                    Some(answer) => answer(m),
                    None => hear(m),
                }
            });
            worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            let on_error =
                Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |e: web_sys::ErrorEvent| {
                    web_sys::console::error_1(&format!("sync worker: {}", e.message()).into());
                });
            worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            on_error.forget();
            Inner {
                worker,
                next: Cell::new(1),
                waiting: RefCell::new(HashMap::new()),
                _on_message: on_message,
            }
        });
        Ok(Self { inner })
    }

    /// Tells the worker something.
    pub fn send(&self, m: &ToWorker) {
        if let Ok(text) = serde_json::to_string(m) {
            let _ = self.inner.worker.post_message(&JsValue::from_str(&text));
        }
    }

    /// Asks the worker something and waits for the answer.
    async fn ask(&self, make: impl FnOnce(u64) -> ToWorker) -> Option<FromWorker> {
        let req = self.inner.next.get();
        self.inner.next.set(req + 1);
        let (tx, rx) = futures_channel::oneshot::channel();
        self.inner
            .waiting
            .borrow_mut()
            .insert(req, Box::new(move |m| drop(tx.send(m))));
        self.send(&make(req));
        rx.await.ok()
    }

    /// The plan as this browser holds it at `heads` (a snapshot), or why not.
    pub async fn plan_at(&self, doc: DocumentId, heads: Vec<String>) -> Result<Plan, String> {
        match self.ask(|req| ToWorker::PlanAt { req, doc, heads }).await {
            Some(FromWorker::PlanAt { result, .. }) => result.map(|p| *p),
            _ => Err("the sync worker did not answer: reload the page".into()),
        }
    }

    /// The plan's history, newest first.
    pub async fn history(&self, doc: DocumentId) -> Result<Vec<HistoryEntry>, String> {
        match self.ask(|req| ToWorker::History { req, doc }).await {
            Some(FromWorker::History { result, .. }) => result,
            _ => Err("the sync worker did not answer: reload the page".into()),
        }
    }
}
