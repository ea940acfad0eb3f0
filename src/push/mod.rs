//! WebSub at work in the daemon, over what [`crate::websub`] decides:
//!
//! ```text
//! subscriber -> the callback routes (/websub/TOKEN), requests to hubs, the renewal timer
//! publisher  -> publish pings to `[output] hub` when the merged feed or a view changes
//! ```

pub mod publisher;
pub mod subscriber;

pub use subscriber::Subscriber;
