//! A PostgreSQL server for the tests that need one: `NEWSWIRE_TEST_PG` names it (as
//! `scripts/pg-throwaway start` prints it; .ci/run starts one). Without it those tests skip
//! with a note, unless `NEWSWIRE_REQUIRE_PG` is set, where its absence fails.

/// The server's URL, or None (with a note) when there is none.
pub fn server() -> Option<String> {
    match std::env::var("NEWSWIRE_TEST_PG") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("NEWSWIRE_REQUIRE_PG").is_some() => {
            panic!("NEWSWIRE_REQUIRE_PG is set but NEWSWIRE_TEST_PG names no server")
        }
        _ => {
            eprintln!("skipped: no PostgreSQL (set NEWSWIRE_TEST_PG; see scripts/pg-throwaway)");
            None
        }
    }
}

/// A new, empty database named `name` (dropped first if it exists), by its URL.
pub fn scratch(server: &str, name: &str) -> String {
    newswire::store::pg::scratch_database(server, name).expect("a scratch database")
}
