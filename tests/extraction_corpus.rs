//! Article extraction on real pages: the 88 pages of ../shared/corpus/article-extraction
//! (hand-checked article text, from the scrapinghub benchmark), through the extractor the
//! daemon and `newswire extract` use, scored by the corpus's own `score.py`. Skipped, with
//! a message, when the corpus or python3 is absent.

mod common;

use std::io::Read;
use std::path::Path;

use newswire::extract::{self, Rules, page};

/// F1 below this fails: the release figure is in bench/RESULTS.md (issue 14).
const F1_FLOOR: f64 = 0.965;

#[test]
fn extraction_scores_above_its_floor() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/article-extraction");
    let truth_path = dir.join("ground-truth.json");
    let Ok(truth) = std::fs::read(&truth_path) else {
        eprintln!(
            "skipped: {} is absent (the shared corpus is not here)",
            truth_path.display()
        );
        return;
    };
    let Some(python) = common::on_path("python3") else {
        eprintln!("skipped: python3 is not on PATH (score.py needs it)");
        return;
    };
    let truth: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&truth).unwrap();
    let mut predictions = serde_json::Map::new();
    let mut failed = Vec::new();
    for (id, page_truth) in &truth {
        let mut html = Vec::new();
        let gz = std::fs::File::open(dir.join("html").join(format!("{id}.html.gz"))).unwrap();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut html)
            .unwrap();
        let url = url::Url::parse(page_truth["url"].as_str().unwrap()).unwrap();
        let text = page::decode(&html, None);
        let body = match extract::extract(&text, &url, &Rules::default()) {
            Ok(e) => e.text,
            Err(e) => {
                failed.push(format!("{id}: {e}"));
                String::new()
            }
        };
        predictions.insert(id.clone(), serde_json::json!({ "articleBody": body }));
    }
    let out = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(out.path(), serde_json::to_vec(&predictions).unwrap()).unwrap();
    let scored = std::process::Command::new(python)
        .arg(dir.join("score.py"))
        .arg("--predictions")
        .arg(out.path())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&scored.stdout);
    println!("{report}");
    let f1: f64 = report
        .lines()
        .find(|l| l.starts_with("pages "))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|f| f.parse().ok())
        .unwrap_or_else(|| panic!("no score in: {report}"));
    assert!(failed.len() <= 1, "pages without an article: {failed:#?}");
    assert!(f1 >= F1_FLOOR, "F1 {f1} is below {F1_FLOOR}:\n{report}");
}
