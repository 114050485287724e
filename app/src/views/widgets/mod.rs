//! What several pages use: the RAG chip, the period picker, charts, comments, collaborative
//! text, the editing mark, the announcer, sign-off, and the requests buttons start.

pub mod announcer;
pub mod charts;
pub mod comments;
pub mod editing;
pub mod invite;
pub mod paper;
pub mod period;
pub mod rag;
pub mod request;
pub mod round;
pub mod sign_in;
pub mod text;
pub mod travel;
