//! One story and why its copies are together: `newswire story ID` (text or JSON) and the
//! `/stories/ID` route (JSON). Read-only over the store.

use std::fmt::Write;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::server::AppState;
use crate::store::StoryCopies;

/// The story as text, one line per copy: feed, published, title, link, and what attached it.
pub fn text(s: &StoryCopies) -> String {
    let mut out = format!(
        "story {}: {}\n  key: {}\n  link: {}\n  copies: {}\n",
        s.id,
        s.title,
        s.key,
        s.link.as_deref().unwrap_or("-"),
        s.copies.len()
    );
    for c in &s.copies {
        let _ = write!(
            out,
            "\ncopy {} from {} ({}):\n  {}\n  {}\n  joined: {}\n",
            c.id,
            c.feed,
            c.published.format("%Y-%m-%d %H:%M UTC"),
            c.title,
            c.link.as_deref().unwrap_or("-"),
            c.joined.as_ref().map_or(
                "not recorded (stored by an older newswire)".to_string(),
                |j| j.to_string()
            )
        );
    }
    out
}

/// `GET /stories/{id}`: the story's copies as JSON, 404 when there is no such story.
pub async fn route(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return (StatusCode::BAD_REQUEST, "a story id is a number\n").into_response();
    };
    let mut r = match state.store.call(move |s| s.story_copies(id)).await {
        Ok(Some(story)) => Json(story).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "no such story\n").into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
    };
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
