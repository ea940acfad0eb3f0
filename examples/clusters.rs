//! Clustering benchmark on the labelled fixture set (tests/fixtures/clusters/wire.json):
//! 20 wire stories carried four ways, 10 same-event pairs written twice by two outlets.
//!
//!     cargo run --release --example clusters [ORDERS]
//!
//! Stores the copies through the real store (a SQLite file in a temporary folder) in ORDERS
//! orders (every order of the four wire outlets, the own outlets placed around them, and
//! each feed's items shuffled; default 24) and prints pairwise precision and recall, the
//! number of distinct clusterings seen (1 = order independent) and the time per order.

#[path = "../tests/common/clusters.rs"]
mod clusters;

use std::collections::BTreeSet;
use std::time::Instant;

use clusters::{OWN_OUTLETS, WIRE_OUTLETS};

fn main() {
    let orders: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(24);
    let json = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/clusters/wire.json"
    ))
    .unwrap();
    let copies = clusters::copies(&json);
    let perms = clusters::permutations(&WIRE_OUTLETS);
    let mut seen: BTreeSet<BTreeSet<BTreeSet<String>>> = BTreeSet::new();
    let (mut worst_p, mut worst_r) = (1.0f64, 1.0f64);
    let mut total = clusters::Scores {
        true_merges: 0,
        false_merges: 0,
        missed: 0,
    };
    let t = Instant::now();
    for n in 0..orders {
        let mut order = perms[n % perms.len()].clone();
        order.insert(n % 5, OWN_OUTLETS[0]);
        order.insert((n * 3) % 6, OWN_OUTLETS[1]);
        let found = clusters::store_in_order(&copies, &order, n as u64 + 1);
        let s = clusters::score(&copies, &found);
        worst_p = worst_p.min(s.precision());
        worst_r = worst_r.min(s.recall());
        total.true_merges += s.true_merges;
        total.false_merges += s.false_merges;
        total.missed += s.missed;
        seen.insert(clusters::clusters(&found));
    }
    let per = t.elapsed().as_secs_f64() * 1000.0 / orders as f64;
    println!(
        "clusters: {} copies ({} wire stories x 4, {} same-event articles), {orders} orders",
        copies.len(),
        copies.iter().filter(|c| c.feed == "wire").count(),
        copies
            .iter()
            .filter(|c| OWN_OUTLETS.contains(&c.feed))
            .count()
    );
    println!(
        "| precision | recall | worst precision | worst recall | distinct clusterings | ms per order |"
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "| {:.3} | {:.3} | {worst_p:.3} | {worst_r:.3} | {} | {per:.0} |",
        total.precision(),
        total.recall(),
        seen.len()
    );
}
