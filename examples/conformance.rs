//! The conformance report: what newswire makes of the shared corpus (`../shared/corpus`)
//! against feedparser's reading, written to `conformance/REPORT.md`.
//!
//! ```text
//! cargo run --release --example conformance
//! ```

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/corpus/mod.rs"]
mod corpus;

#[tokio::main]
async fn main() {
    let Some(dir) = corpus::corpus_dir() else {
        eprintln!(
            "skipped: no corpus at ../shared/corpus (set NEWSWIRE_CORPUS to its folder to run)"
        );
        return;
    };
    let realworld = corpus::realworld::run(&dir).await;
    let dates = corpus::dates::run(&dir);
    let cases = corpus::cases::run(&dir);
    let report = corpus::report::render(&realworld, &dates, &cases);
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/REPORT.md");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(&out, &report).unwrap();
    for f in corpus::realworld::FIELDS {
        let t = &realworld.tallies[f];
        println!(
            "{f:16} agree {:4} explained {:3} unexplained {:3}  {:.1}% (strict {:.1}%)",
            t.agree,
            t.explained,
            t.unexplained,
            t.rate() * 100.0,
            t.strict_rate() * 100.0
        );
    }
    println!("wrote {}", out.display());
}
