//! News-like words and text for the benchmarks (shared by `stages.rs` and `rules.rs`).

/// Words that news copy is made of, a few with non-ASCII letters.
pub const WORDS: &[&str] = &[
    "government",
    "minister",
    "said",
    "talks",
    "border",
    "market",
    "rates",
    "bank",
    "storm",
    "city",
    "council",
    "police",
    "report",
    "election",
    "vote",
    "energy",
    "prices",
    "court",
    "ruling",
    "health",
    "hospital",
    "school",
    "budget",
    "trade",
    "deal",
    "president",
    "army",
    "ceasefire",
    "officials",
    "week",
    "Tuesday",
    "million",
    "percent",
    "Zürich",
    "Genève",
];

/// `n` words, a different sequence for each `seed`.
pub fn text(seed: usize, n: usize) -> String {
    (0..n)
        .map(|i| WORDS[(seed * 31 + i * 17 + i * i) % WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ")
}
