//! Plansync's web app. `main` only mounts; the app is in the modules.

mod api;
mod identity;
mod membership;
mod model;
mod perf;
mod presence;
mod route;
mod store;
mod sync;
mod views;
mod worker;

fn main() {
    // In the sync worker the same module starts without a page: `worker_main` runs it.
    if web_sys::window().is_none() {
        return;
    }
    leptos::mount::mount_to_body(views::App);
}
