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

/// `f` with a client of the database at `url` (statements no store interface offers: a
/// test's setting of the stage, or a look at rows), on a thread and runtime of its own.
pub fn with_client<T, F, Fut>(url: &str, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce(tokio_postgres::Client) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T>,
{
    let url = url.to_string();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            let task = tokio::spawn(conn);
            let out = f(client).await;
            let _ = task.await;
            out
        })
    })
    .join()
    .unwrap()
}

/// Runs `sql` on the database at `url` ([`with_client`]).
#[allow(dead_code)]
pub fn execute(url: &str, sql: &str) {
    let sql = sql.to_string();
    with_client(url, |client| async move {
        client.batch_execute(&sql).await.unwrap();
    });
}
