//! One module per route, each the page it shows.

pub mod accessibility;
pub mod action;
pub mod board;
pub mod dashboard;
pub mod history;
pub mod indicators;
pub mod join;
pub mod milestones;
pub mod outline;
pub mod papers;
pub mod people;
pub mod plans;
pub mod room;
pub mod search;
pub mod tracker;
pub mod workshop;
