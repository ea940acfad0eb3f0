//! News-like words and text for the benchmarks (shared by `stages.rs`, `rules.rs` and the
//! examples `fill_store` and `first_poll_cpu`).

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

/// `n` words of a made-up vocabulary of 20,000, skewed (the square of a uniform draw) so that
/// a few words are common and most are rare, drawn from the generator state `state`.
#[allow(dead_code)] // the benches do not draw them
pub fn vocabulary_text(mut state: u64, n: usize) -> String {
    const SYLLABLES: &[&str] = &[
        "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ber", "dan", "gor", "hel", "jun", "kel",
        "mar", "nor", "pel", "ros", "tam", "wen",
    ];
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (state >> 33) as f64 / (1u64 << 31) as f64;
            let mut w = (u * u * 20_000.0) as usize;
            let mut word = String::new();
            for _ in 0..3 {
                word.push_str(SYLLABLES[w % SYLLABLES.len()]);
                w /= SYLLABLES.len();
                if w == 0 {
                    break;
                }
            }
            word
        })
        .collect::<Vec<_>>()
        .join(" ")
}
