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

fn main() {
    leptos::mount::mount_to_body(views::App);
}
