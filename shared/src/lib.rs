//! Plansync's shared core: the plan as an automerge document, the operations that change it,
//! and the sans-IO sync core that speaks the automerge-repo wire protocol "1".
//!
//! Nothing here opens a socket, reads a clock or touches a file: callers pass `now` and
//! randomness in and carry out the effects that come back.

pub mod api;
mod compare;
mod demo;
mod direction;
mod email;
mod error;
mod history;
mod history_filter;
mod identity;
mod ids;
mod import;
mod links;
mod period;
mod plan;
mod publication;
mod relay_status;
mod reminder;
mod round;
mod search;
mod signoff;
mod summary;
mod sync;
mod typing;
mod workshop;

pub use compare::{compare, word_diff, Change, Difference, ItemKind, WordChange, Words};
pub use demo::{demo_plan, DEMO_PLAN_TITLE};
pub use direction::{action_travel, indicator_travel, out_of_tolerance, Travel};
pub use email::{valid_email, EmailList, ParticipantEmail, SetEmail, MAX_EMAIL_BYTES};
pub use error::Error;
pub use history::{history, HistoryEntry, MAX_DETAILS};
pub use history_filter::{attributed, date_of_ms, Attribution, HistoryFilter};
pub use identity::{stamped_by, FinishSignIn, Known, ProviderChoice, SignInRule};
pub use ids::{
    ActionId, AgencyId, BoardId, CommentId, IndicatorId, MilestoneId, ObjectiveId, PersonId,
    RoundId, ThemeId, UpdateId,
};
pub use import::{
    guess_mapping, plan_import, restore_item, BadRow, ImportPlan, ImportRow, Mapping, TrackerField,
};
pub use links::{people_of, LinkPerson, PersonLink};
pub use period::{financial_year, long_date, parse_date, Quarter, ReportingPeriod};
pub use plan::DEFAULT_REMINDERS;
pub use plan::{
    plan_patch, plan_summary, read_plan, read_plan_tracked, read_rounds, update_plan, Action,
    Agency, Board, Comment, CommentTarget, Commit, Decision, Direction, DirectionOverride,
    Indicator, ItemPatch, Milestone, NewPlan, Objective, Person, Plan, PlanDoc, PlanOp, PlanPatch,
    PlanSummary, PlanUpdate, Polarity, ProgressState, ProgressUpdate, Rag, Round, Stage, TextField,
    Theme, TravelItem, WorkshopReview, PLAN_SHAPE, REMOVED_BOARD, SCHEMA,
};
pub use publication::{Publish, Published};
pub use relay_status::relay_line;
pub use reminder::{compose, recipients, reminder_key, Recipient, ReminderMail};
pub use round::{
    check_reminders, current_round, dated_in_round, due_reminder, missing, my_actions,
    parse_reminders, reminders_key, reminders_words, round_line, round_progress, Missing,
    Outstanding, RoundProgress, MAX_REMINDERS, MAX_REMINDER_DAYS,
};
pub use search::{search, Hit, HitKind, HitTarget};
pub use signoff::{board_return, latest_sign_offs, ReturnLine, SignOff, SignOffRequest};
pub use summary::{
    board_takes_part, is_exception, is_overdue, summary, Counts, GroupCounts, RagCounts, Summary,
    TravelCounts,
};
pub use sync::{
    changes_beyond, decode_message, encode_message, encode_presence, loggable, parse_presence,
    read_stamp, valid_peer_id, Access, Attached, ConnId, DocMessage, DocumentId, Effect, Ephemeral,
    Event, Hub, HubConfig, Message, PeerId, PeerMetadata, PersistId, PresenceMessage, Stamp,
    WireError, HEARTBEAT_MS, MAX_EPHEMERAL_SESSIONS, MAX_PEER_ID_BYTES, PARTICIPANT, PEER_TTL_MS,
    PRESENCE_MARKER, PROTOCOL_VERSION, SERVER_REST_AFTER_MS,
};
pub use typing::{rebase_typing, transform_caret};
pub use workshop::{workshop_tally, WorkshopTally, NO_GROUP};

/// Re-exported so that callers use the same automerge as the core.
pub use automerge;

/// A CBOR value, as presence states hold them.
pub use ciborium::Value as CborValue;

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
