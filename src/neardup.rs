//! Near-duplicate detection: the same wire story carried by several outlets under different
//! URLs, whole or in part, is one story. Pure: the store keeps each copy's index keys, and a
//! [`KeyIndex`] in memory finds the candidates; [`compare`] decides.
//!
//! Method. Every copy (not only a story's first) is reduced to a [`Text`]: the word
//! 3-shingles of its body, of title and body together, and the significant words of its
//! headline. Two copies are the same story by one of three rules, tried in order:
//!
//! - **same text**: both are long (at least [`LONG_WORDS`] words) and the Jaccard similarity
//!   of their shingle sets reaches the threshold (`[dedup] threshold`): an edited full copy.
//! - **contained**: the shorter body has at least [`MIN_SHINGLES`] shingles and at least
//!   [`CONTAINMENT`] of them appear in the longer body: a teaser, a first paragraph under a
//!   dateline, a full copy with a paragraph added. Containment, unlike Jaccard, does not
//!   punish a partial copy for being partial. Two outlets' *own* articles about one event
//!   share facts and names but few word triples (typically under 0.15), so they stay apart.
//! - **headline**: when one of them has too little body to compare, near-identical headlines
//!   (word Jaccard at least [`HEADLINE_THRESHOLD`]) of at least [`MIN_TITLE_WORDS`]
//!   significant words: "Morning briefing" from two outlets is not one story.
//!
//! Candidates come from keys shared in the index: MinHash LSH bands of title and body (16
//! bands of 4 rows: copies with Jaccard 0.6 share a band with probability 0.96), a sample
//! of the shingles of the body's first [`LEAD_WORDS`] words (a teaser or first paragraph
//! shares its lead with the full copy), and the headline's significant words. A copy found
//! by lead keys alone must share at least [`LEAD_MATCHES`] of them: one word triple in
//! common at the start of two bodies is a common phrase ("said in a statement on"), while a
//! lead carried over shares most of its sample. The rules are symmetric and look at two
//! copies only, so which copy arrived first changes nothing.

use std::collections::BTreeSet;

/// Hash functions in a MinHash signature.
pub const HASHES: usize = 64;
/// Bands in a signature (of `HASHES / BANDS` rows each).
pub const BANDS: usize = 16;
const ROWS: usize = HASHES / BANDS;
/// Copies with at least this many words (title and body) are compared by Jaccard.
pub const LONG_WORDS: usize = 40;
/// A body with fewer shingles than this is too little text to be "contained" anywhere: a
/// line of boilerplate is in many stories.
pub const MIN_SHINGLES: usize = 15;
/// The share of the shorter body's shingles the longer body must contain.
pub const CONTAINMENT: f64 = 0.8;
/// The similarity two headlines need when the text cannot decide: near-identical only.
pub const HEADLINE_THRESHOLD: f64 = 0.9;
/// A headline needs this many words besides the commonest ones to be compared at all.
pub const MIN_TITLE_WORDS: usize = 5;
/// The lead of a body, in words, whose shingles are index keys.
pub const LEAD_WORDS: usize = 40;
/// At most this many lead shingles are index keys (one in [`LEAD_SAMPLE`] is taken).
const LEAD_KEYS: usize = 12;
const LEAD_SAMPLE: u64 = 3;
/// Lead keys a copy must share to be a candidate when it shares no other key.
pub const LEAD_MATCHES: usize = 2;

/// Words too common to tell two headlines apart.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "in", "is", "it", "its",
    "of", "on", "or", "the", "to", "was", "with", "after", "over", "new", "live", "latest",
    "update", "updates", "news", "briefing", "today", "morning", "evening", "daily", "weekly",
];

/// Words of a text, lowercased, kept in one string, each followed by [`SEP`]: a body's
/// words without a string each (allocating them was most of the cost of [`text`]), and a
/// shingle's bytes, as [`fnv`] hashes them, one slice of it.
#[derive(Default)]
struct Words {
    text: String,
    /// Where each word ends in `text` (where its separator is), in order.
    ends: Vec<usize>,
}

/// What [`fnv`] hashes after each part.
const SEP: u8 = 0x1f;

impl Words {
    /// Adds the words of `text`: its runs of alphanumeric characters, as
    /// `text.split(|c: char| !c.is_alphanumeric())` has them, lowercased word by word. ASCII
    /// is read byte by byte; any other character is decoded where it is met.
    fn push_all(&mut self, text: &str) {
        let b = text.as_bytes();
        // the word being read: where it starts, and whether it is ASCII so far
        let mut word: Option<(usize, bool)> = None;
        let mut i = 0;
        while i < b.len() {
            let (alnum, len, ascii) = if b[i] < 0x80 {
                (b[i].is_ascii_alphanumeric(), 1, true)
            } else {
                let c = text[i..].chars().next().unwrap_or_default();
                (c.is_alphanumeric(), c.len_utf8(), false)
            };
            word = match (alnum, word) {
                (true, None) => Some((i, ascii)),
                (true, Some((from, so_far))) => Some((from, so_far && ascii)),
                (false, Some((from, ascii))) => {
                    self.push_word(&text[from..i], ascii);
                    None
                }
                (false, None) => None,
            };
            i += len;
        }
        if let Some((from, ascii)) = word {
            self.push_word(&text[from..], ascii);
        }
    }

    fn push_word(&mut self, w: &str, ascii: bool) {
        if ascii {
            let from = self.text.len();
            self.text.push_str(w);
            self.text[from..].make_ascii_lowercase();
        } else {
            // as a whole word: a final sigma lowercases unlike one inside a word
            self.text.push_str(&w.to_lowercase());
        }
        self.ends.push(self.text.len());
        self.text.push(char::from(SEP));
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn start(&self, i: usize) -> usize {
        if i == 0 { 0 } else { self.ends[i - 1] + 1 }
    }

    fn get(&self, i: usize) -> &str {
        &self.text[self.start(i)..self.ends[i]]
    }

    /// The bytes of the shingle of the words from `i` (three of them, each with its
    /// separator): what `fnv(&[w1, w2, w3])` hashes.
    fn shingle_bytes(&self, i: usize) -> &[u8] {
        &self.text.as_bytes()[self.start(i)..=self.ends[i + 2]]
    }

    /// The shingles of the words from each of `starts`, in order. FNV goes a byte at a
    /// time, each step waiting for the last multiply: four shingles are hashed side by
    /// side, so that their multiplies overlap.
    fn shingles(&self, starts: std::ops::Range<usize>) -> Vec<u32> {
        let mut out = Vec::with_capacity(starts.len());
        let mut i = starts.start;
        while i + 4 <= starts.end {
            let lanes = [
                self.shingle_bytes(i),
                self.shingle_bytes(i + 1),
                self.shingle_bytes(i + 2),
                self.shingle_bytes(i + 3),
            ];
            out.extend(fnv_bytes4(lanes).map(fold));
            i += 4;
        }
        out.extend((i..starts.end).map(|i| fold(fnv_bytes(FNV_BASIS, self.shingle_bytes(i)))));
        out
    }
}

const FNV_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

fn fnv_bytes(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// [`fnv_bytes`] of four byte strings at once (the same values).
fn fnv_bytes4(lanes: [&[u8]; 4]) -> [u64; 4] {
    let common = lanes.iter().map(|l| l.len()).min().unwrap_or(0);
    let mut h = [FNV_BASIS; 4];
    for j in 0..common {
        for (h, lane) in h.iter_mut().zip(&lanes) {
            *h ^= u64::from(lane[j]);
            *h = h.wrapping_mul(FNV_PRIME);
        }
    }
    std::array::from_fn(|k| fnv_bytes(h[k], &lanes[k][common..]))
}

/// A 64-bit hash folded to the 32 bits a shingle or key is kept in.
fn fold(h: u64) -> u32 {
    (h ^ (h >> 32)) as u32
}

/// FNV-1a, 64 bits, of the parts each followed by [`SEP`]: fixed forever, unlike std's
/// hasher, since index keys are stored.
fn fnv(parts: &[&[u8]]) -> u64 {
    parts
        .iter()
        .fold(FNV_BASIS, |h, part| fnv_bytes(fnv_bytes(h, part), &[SEP]))
}

/// Per-function multipliers and offsets, fixed so that signatures compare across runs.
fn coefficients() -> &'static [(u64, u64); HASHES] {
    static C: std::sync::OnceLock<[(u64, u64); HASHES]> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        let mut c = [(0u64, 0u64); HASHES];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for slot in c.iter_mut() {
            // splitmix64
            let mut next = || {
                x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = x;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                z ^ (z >> 31)
            };
            *slot = (next() | 1, next());
        }
        c
    })
}

/// The MinHash signature of a set of shingles: for each function `(a, b)`, the least
/// `(a * s + b) >> 32` over the shingles `s` (arithmetic modulo 2^64).
fn minhash(shingles: &[u32]) -> [u32; HASHES] {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
        {
            // SAFETY: the CPU has AVX-512 F and DQ, as just checked
            return unsafe { minhash_avx512(shingles) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, as just checked
            return unsafe { minhash_avx2(shingles) };
        }
    }
    minhash_with(shingles)
}

/// [`minhash`] built for AVX2 ([`minhash_with`] in 32-bit lanes: 3.8x faster than the
/// 64-bit form built for AVX2, which has neither a 64-bit multiply nor a 64-bit min; the
/// same values).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn minhash_avx2(shingles: &[u32]) -> [u32; HASHES] {
    minhash_with(shingles)
}

/// [`minhash`] built for AVX-512, which multiplies and compares 64-bit lanes itself: the
/// functions in their 64-bit form, eight at a time (7x faster than that form built for
/// AVX2, 1.8x faster than [`minhash_with`] built for AVX-512; the same values).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
fn minhash_avx512(shingles: &[u32]) -> [u32; HASHES] {
    let c = coefficients();
    let a: [u64; HASHES] = std::array::from_fn(|i| c[i].0);
    let b: [u64; HASHES] = std::array::from_fn(|i| c[i].1);
    let mut mins = [u64::MAX; HASHES];
    for &s in shingles {
        let s = u64::from(s);
        for i in 0..HASHES {
            mins[i] = mins[i].min(a[i].wrapping_mul(s).wrapping_add(b[i]) >> 32);
        }
    }
    mins.map(|m| m as u32)
}

/// Functions computed side by side in [`minhash_with`]: eight 32-bit lanes fill an AVX2
/// register, and the shingles are read once per eight functions, so that the functions'
/// coefficients and least values stay in registers.
const LANES: usize = 8;

/// [`minhash`] in 32-bit arithmetic. For a 32-bit `s`, with `a = ah * 2^32 + al` and
/// `b = bh * 2^32 + bl`, the value `(a * s + b) >> 32` (modulo 2^64) is
/// `((al * s + bl) >> 32) + ah * s + bh` modulo 2^32, where `al * s + bl` cannot overflow
/// 64 bits: one 32x32->64 multiply and one 32-bit multiply a function.
#[inline(always)]
fn minhash_with(shingles: &[u32]) -> [u32; HASHES] {
    let c = coefficients();
    let mut mins = [u32::MAX; HASHES];
    for (k, out) in mins.chunks_exact_mut(LANES).enumerate() {
        let f = &c[k * LANES..][..LANES];
        let al: [u32; LANES] = std::array::from_fn(|i| f[i].0 as u32);
        let ah: [u32; LANES] = std::array::from_fn(|i| (f[i].0 >> 32) as u32);
        let bl: [u32; LANES] = std::array::from_fn(|i| f[i].1 as u32);
        let bh: [u32; LANES] = std::array::from_fn(|i| (f[i].1 >> 32) as u32);
        let mut least = [u32::MAX; LANES];
        for &s in shingles {
            let wide = u64::from(s);
            for i in 0..LANES {
                let low = ((u64::from(al[i]) * wide + u64::from(bl[i])) >> 32) as u32;
                let h = low.wrapping_add(ah[i].wrapping_mul(s)).wrapping_add(bh[i]);
                least[i] = least[i].min(h);
            }
        }
        out.copy_from_slice(&least);
    }
    mins
}

/// A set as a sorted vector: each value once (shingles; a headline's words, without a
/// tree's nodes).
fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort_unstable();
    v.dedup();
    v
}

/// What one copy says, reduced to what comparing two copies needs. Sets are sorted
/// vectors of 32-bit hashes (a few KB for a long article).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// Shingles of the body.
    body: Vec<u32>,
    /// Shingles of title and body together.
    all: Vec<u32>,
    /// Every word of the headline, sorted, once each.
    title: Vec<String>,
    /// The headline's words besides the commonest ones.
    significant: usize,
    /// Words of title and body.
    words: usize,
    /// Index keys of the body's lead (see [`Text::keys`]).
    lead: Vec<u32>,
}

/// The text of a copy, from its plain-text headline and body.
pub fn text(title: &str, body_text: &str) -> Text {
    // room for the text and its separators (a word of five letters or more in the main)
    let bytes = title.len() + body_text.len();
    let mut words = Words {
        text: String::with_capacity(bytes + bytes / 4),
        ends: Vec::with_capacity(bytes / 5),
    };
    // the headline's words, then the body's: shingles of both run across the seam
    words.push_all(title);
    let in_title = words.len();
    words.push_all(body_text);
    let n = words.len();
    Text::of_shingles(
        (0..in_title).map(|i| words.get(i).to_string()).collect(),
        n,
        words.shingles(in_title..n.saturating_sub(2).max(in_title)),
        words.shingles(0..in_title.min(n.saturating_sub(2))),
    )
}

impl Text {
    /// A copy's text from its headline's words, its count of words, and the shingles that
    /// start in its body (in order) and in its headline.
    fn of_shingles(title: Vec<String>, words: usize, body: Vec<u32>, in_title: Vec<u32>) -> Text {
        // the shingles of the lead's words: a body of w words has w - 2
        let lead_shingles = body.len().min(LEAD_WORDS - 2);
        let mut lead = sorted(
            body[..lead_shingles]
                .iter()
                .copied()
                .filter(|s| u64::from(*s) % LEAD_SAMPLE == 0)
                .collect(),
        );
        lead.truncate(LEAD_KEYS);
        let body = sorted(body);
        let title = sorted(title);
        // the shingles that start in the headline, merged into the body's (both sorted)
        let all = union(&body, &sorted(in_title));
        Text {
            significant: title
                .iter()
                .filter(|w| !STOPWORDS.contains(&w.as_str()))
                .count(),
            title,
            words,
            body,
            all,
            lead,
        }
    }
}

/// The union of two sorted sets, sorted.
fn union(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let next = a[i].min(b[j]);
        i += usize::from(a[i] == next);
        j += usize::from(b[j] == next);
        out.push(next);
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// Which rule found two copies to be the same story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Their texts are nearly the same (Jaccard similarity of shingles).
    SameText,
    /// The shorter text is contained in the longer (share of its shingles found there).
    Contained,
    /// Too little text to compare, near-identical headlines (word Jaccard).
    Headline,
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Rule::SameText => "same text",
            Rule::Contained => "contained",
            Rule::Headline => "same headline",
        })
    }
}

/// Why two copies are one story: the rule and its score (0 to 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match {
    /// The rule that matched.
    pub rule: Rule,
    /// Its score: similarity or containment.
    pub score: f64,
}

/// How many values two sorted sets share.
fn common<T: Ord>(a: &[T], b: &[T]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

fn jaccard(a: &[u32], b: &[u32]) -> f64 {
    let both = common(a, b);
    let either = a.len() + b.len() - both;
    if either == 0 {
        0.0
    } else {
        both as f64 / either as f64
    }
}

/// Whether two copies are the same story, and by which rule (see the module's doc).
/// Symmetric: `compare(a, b, t) == compare(b, a, t)`.
pub fn compare(a: &Text, b: &Text, threshold: f64) -> Option<Match> {
    if a.words >= LONG_WORDS && b.words >= LONG_WORDS {
        let score = jaccard(&a.all, &b.all);
        if score >= threshold {
            return Some(Match {
                rule: Rule::SameText,
                score,
            });
        }
    }
    let (short, long) = if (a.body.len(), &a.body) <= (b.body.len(), &b.body) {
        (a, b)
    } else {
        (b, a)
    };
    if short.body.len() >= MIN_SHINGLES {
        let score = common(&short.body, &long.body) as f64 / short.body.len() as f64;
        if score >= CONTAINMENT {
            return Some(Match {
                rule: Rule::Contained,
                score,
            });
        }
        return None;
    }
    if a.significant.min(b.significant) >= MIN_TITLE_WORDS {
        let both = common(&a.title, &b.title);
        let score = both as f64 / (a.title.len() + b.title.len() - both).max(1) as f64;
        if score >= HEADLINE_THRESHOLD {
            return Some(Match {
                rule: Rule::Headline,
                score,
            });
        }
    }
    None
}

fn tagged(tag: u8, value: &[u8]) -> u32 {
    fold(fnv(&[&[tag], value]))
}

impl Text {
    /// The keys a copy is indexed and looked up under (see the module's doc). Empty when
    /// the copy can match nothing (no long text, no comparable lead, a generic headline).
    pub fn keys(&self) -> Vec<u32> {
        let mut keys = Vec::new();
        if self.words >= LONG_WORDS && !self.all.is_empty() {
            let mins = minhash(&self.all);
            for (i, band) in mins.chunks_exact(ROWS).enumerate() {
                let mut bytes = [0u8; ROWS * 4];
                for (to, m) in bytes.chunks_exact_mut(4).zip(band) {
                    to.copy_from_slice(&m.to_le_bytes());
                }
                keys.push(tagged(i as u8, &bytes));
            }
        }
        keys.extend(self.lead_keys());
        if self.significant >= MIN_TITLE_WORDS {
            let title: Vec<&str> = self.title.iter().map(String::as_str).collect();
            keys.push(tagged(BANDS as u8 + 1, title.join(" ").as_bytes()));
        }
        keys
    }

    /// About the memory the text takes besides its own struct: its sets of shingles and
    /// its headline's words.
    pub fn heap_bytes(&self) -> usize {
        let words: usize = self.title.iter().map(|w| w.len() + 48).sum();
        (self.body.len() + self.all.len() + self.lead.len()) * 4 + words
    }

    /// The part of [`Text::keys`] taken from the body's lead: a candidate sharing only
    /// these must share [`LEAD_MATCHES`] of them (see [`KeyIndex::candidates`]).
    pub fn lead_keys(&self) -> Vec<u32> {
        if self.body.len() < MIN_SHINGLES {
            return Vec::new();
        }
        self.lead
            .iter()
            .map(|s| tagged(BANDS as u8, &s.to_le_bytes()))
            .collect()
    }
}

/// Index keys as stored (little-endian u32s).
pub fn keys_to_bytes(keys: &[u32]) -> Vec<u8> {
    keys.iter().flat_map(|k| k.to_le_bytes()).collect()
}

/// Stored index keys; `None` if the bytes are not a list of them.
pub fn keys_from_bytes(b: &[u8]) -> Option<Vec<u32>> {
    if b.len() % 4 != 0 {
        return None;
    }
    Some(
        b.chunks(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

/// Which copies share an index key with another: a candidate generator kept in memory.
///
/// Keys and copies (entry ids) are 32 bits. Each (key, copy) pair takes 6 bytes in one of
/// 65,536 sorted lists, chosen by the key's top 16 bits (which the list's entries then
/// leave out): the 2.9 million pairs of 100,000 copies are 17 MB of pairs, besides the
/// lists' spare room (at 8 bytes a pair, as before, the index measured 27 MB), where a hash map
/// of keys with a chained list of copies took 91 MB (its table was rounded up to a power of
/// two, and each doubling held the old and new at once; bench/RESULTS.md). A list holds
/// about 44 pairs there, so adding one moves a few hundred bytes and grows a small block.
/// The same index as a SQLite table cost the first poll of 1,000 feeds half its time (rows
/// written at random places, page by page into the WAL, at every commit). Candidates are
/// only candidates: the caller confirms each against the stored copy and its date, so a copy
/// that has since gone, or whose id was reused, costs a lookup and nothing else.
#[derive(Debug, Default)]
pub struct KeyIndex {
    /// By the key's top 16 bits (empty until the first copy is added): the key's low 16
    /// bits and the copy's two halves, `[low, copy >> 16, copy & 0xFFFF]` (6 bytes a pair,
    /// where a `u64` would be 8), sorted, so by key and then by copy (ids grow: the newest
    /// copies of a key come last); a pair once.
    shards: Vec<Vec<Pair>>,
    /// Copies indexed.
    copies: usize,
}

const SHARD_BITS: u32 = 16;

/// A key's low 16 bits and a copy's high and low 16 bits: arrays compare element by element,
/// so pairs sort by key, then by copy.
type Pair = [u16; 3];

impl KeyIndex {
    /// Adds a copy under each of its keys. Ids beyond 32 bits are not indexed (they are not
    /// found as near-duplicates; nothing else changes).
    pub fn insert(&mut self, copy: i64, keys: &[u32]) {
        let Ok(copy) = u32::try_from(copy) else {
            return;
        };
        if keys.is_empty() {
            return;
        }
        if self.shards.is_empty() {
            self.shards = vec![Vec::new(); 1 << SHARD_BITS];
        }
        for &key in keys {
            let shard = &mut self.shards[(key >> SHARD_BITS) as usize];
            let pair: Pair = [key as u16, (copy >> 16) as u16, copy as u16];
            if let Err(at) = shard.binary_search(&pair) {
                if shard.len() == shard.capacity() {
                    // by a quarter, not double: the lists are many and small
                    shard.reserve_exact((shard.len() / 4).max(4));
                }
                shard.insert(at, pair);
            }
        }
        self.copies += 1;
    }

    /// The pairs of `key`'s shard.
    fn shard(&self, key: u32) -> &[Pair] {
        self.shards
            .get((key >> SHARD_BITS) as usize)
            .map_or(&[][..], Vec::as_slice)
    }

    /// The copies under `key` in its `shard`, oldest first.
    fn under(shard: &[Pair], key: u32) -> impl DoubleEndedIterator<Item = u32> + '_ {
        let low = key as u16;
        let from = shard.partition_point(|p| p[0] < low);
        let to = from + shard[from..].partition_point(|p| p[0] == low);
        shard[from..to]
            .iter()
            .map(|p| (u32::from(p[1]) << 16) | u32::from(p[2]))
    }

    /// Copies sharing with `keys` a key not in `lead`, or at least [`LEAD_MATCHES`] keys
    /// of `lead` (the lead keys among `keys`, [`Text::lead_keys`]); at most `per_key` (the
    /// newest, by id) per key.
    pub fn candidates(&self, keys: &[u32], lead: &[u32], per_key: usize) -> BTreeSet<i64> {
        let mut keys = keys.to_vec();
        keys.sort_unstable();
        keys.dedup();
        // The keys' shards are read all at once before any is searched, so that the reads
        // overlap: the index is far larger than the caches, and key by key each lookup
        // waited for two reads in turn (where the shard is, then its pairs), most of this
        // function's time (N=1000 first poll: 5% of all CPU, in the writer).
        let shards: Vec<&[Pair]> = keys.iter().map(|&k| self.shard(k)).collect();
        let touched = shards.iter().fold(0u16, |acc, shard| {
            acc ^ shard.get(shard.len() / 2).map_or(0, |p| p[0])
        });
        std::hint::black_box(touched);
        let (mut found, mut under_lead) = (Vec::new(), Vec::new());
        for (key, shard) in keys.into_iter().zip(shards) {
            let to = if lead.contains(&key) {
                &mut under_lead
            } else {
                &mut found
            };
            to.extend(Self::under(shard, key).rev().take(per_key));
        }
        // a copy is under a key once: its count here is the lead keys it shares
        under_lead.sort_unstable();
        found.extend(
            under_lead
                .chunk_by(|a, b| a == b)
                .filter(|same| same.len() >= LEAD_MATCHES)
                .map(|same| same[0]),
        );
        found.into_iter().map(i64::from).collect()
    }

    /// Copies indexed (with repeats, if a copy was added twice).
    pub fn len(&self) -> usize {
        self.copies
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.copies == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "Delegations from both countries met in Geneva on Tuesday for a third round of \
        talks on a ceasefire along the disputed border, officials said. The negotiators agreed to \
        exchange prisoners and to reopen two crossings for humanitarian convoys within a week, \
        according to a joint statement released after eight hours of discussions. Observers said \
        the agreement was fragile and depended on both militaries pulling back heavy artillery.";

    const OTHER: &str = "Fighting resumed overnight along the disputed border after a ceasefire \
        agreed last month collapsed, with both sides blaming the other for the first shots. \
        Residents of three villages fled towards the capital and aid agencies suspended \
        deliveries, saying the roads were no longer safe for their convoys or their staff.";

    fn both_ways(a: &Text, b: &Text) -> Option<Match> {
        let m = compare(a, b, 0.6);
        assert_eq!(m, compare(b, a, 0.6), "compare is symmetric");
        m
    }

    #[test]
    fn edited_full_copies_match_on_their_text() {
        let a = text("Ceasefire talks resume in Geneva", BODY);
        let edited =
            format!("GENEVA (Reuters) - {BODY} A further round is planned for next month.");
        let b = text("Geneva talks on ceasefire resume", &edited);
        let m = both_ways(&a, &b).unwrap();
        assert!(m.score > 0.6, "{m:?}");
        let other = text("Ceasefire collapses near the border", OTHER);
        assert_eq!(both_ways(&a, &other), None);
    }

    #[test]
    fn a_teaser_or_first_paragraph_is_contained_in_the_full_copy() {
        let full = text("Ceasefire talks resume in Geneva", BODY);
        let teaser = text(
            "Ceasefire talks resume in Geneva",
            "Delegations from both countries met in Geneva on Tuesday for a third round of \
             talks on a ceasefire along the disputed border, officials said.",
        );
        let m = both_ways(&full, &teaser).unwrap();
        assert_eq!(m.rule, Rule::Contained);
        // a dateline and a reworded headline do not hide it
        let regional = text(
            "Border truce negotiators meet again",
            "GENEVA, June 3 (Courier) - Delegations from both countries met in Geneva on \
             Tuesday for a third round of talks on a ceasefire along the disputed border, \
             officials said. The negotiators agreed to exchange prisoners.",
        );
        assert_eq!(both_ways(&full, &regional).unwrap().rule, Rule::Contained);
        // the same teaser is not contained in another story on the same topic
        let other = text("Ceasefire collapses near the border", OTHER);
        assert_eq!(both_ways(&other, &teaser), None);
        // and the lead keys put teaser and full copy in one bucket
        let (kf, kt) = (full.keys(), teaser.keys());
        assert!(kt.iter().any(|k| kf.contains(k)));
    }

    #[test]
    fn short_items_compare_on_near_identical_headlines_only() {
        let a = text("Markets rally as central bank rates hold", "Stocks rose.");
        let b = text(
            "Markets rally as central bank rates hold",
            "Shares climbed on Tuesday.",
        );
        let c = text("Markets fall as central bank rates hold", "Stocks fell.");
        assert_eq!(both_ways(&a, &b).unwrap().rule, Rule::Headline);
        assert_eq!(both_ways(&a, &c), None);
        // generic headlines are never compared, and have no keys
        let g1 = text("Morning briefing", "Rates held steady.");
        let g2 = text("Morning briefing", "A storm hit the coast.");
        assert_eq!(both_ways(&g1, &g2), None);
        assert!(g1.keys().is_empty());
        // a short item with the full copy's headline is that story
        let full = text("Markets rally as central bank rates hold", BODY);
        assert_eq!(both_ways(&a, &full).unwrap().rule, Rule::Headline);
    }

    #[test]
    fn a_line_of_boilerplate_is_too_short_to_be_contained() {
        let full = text("Ceasefire talks resume in Geneva", BODY);
        let line = text("Talks", "Delegations from both countries met in Geneva.");
        assert_eq!(both_ways(&full, &line), None);
    }

    #[test]
    fn the_index_finds_copies_sharing_a_key_newest_first_and_bounded() {
        let a = text("Ceasefire talks resume in Geneva", BODY);
        let b = text(
            "Geneva talks on ceasefire resume",
            &format!("GENEVA (Reuters) - {BODY} A further round is planned."),
        );
        let other = text("Harvest festival opens", OTHER);
        let mut index = KeyIndex::default();
        assert!(index.is_empty());
        index.insert(7, &a.keys());
        index.insert(9, &other.keys());
        assert_eq!(index.len(), 2);
        assert_eq!(
            index.candidates(&b.keys(), &b.lead_keys(), 32),
            BTreeSet::from([7])
        );
        assert_eq!(
            index.candidates(&other.keys(), &other.lead_keys(), 32),
            BTreeSet::from([9])
        );
        for id in 100..140 {
            index.insert(id, &a.keys());
        }
        let c = index.candidates(&a.keys(), &a.lead_keys(), 4);
        assert!(c.contains(&139) && !c.contains(&7), "{c:?}");
        // ids beyond 32 bits are left out, not wrapped onto others
        index.insert(i64::from(u32::MAX) + 8, &other.keys());
        assert_eq!(
            index.candidates(&other.keys(), &other.lead_keys(), 32),
            BTreeSet::from([9])
        );
    }

    #[test]
    fn keys_in_one_list_stay_apart_and_the_newest_are_by_id() {
        // keys sharing their top 16 bits share a list; the ends of a list's range too
        let (k0, k1, kmax, other) = (0x0007_0000, 0x0007_0001, 0x0007_FFFF, 0x0008_0000);
        let mut index = KeyIndex::default();
        index.insert(5, &[k0]);
        index.insert(3, &[k1, kmax]);
        index.insert(4, &[kmax, other]);
        index.insert(2, &[kmax]);
        index.insert(4, &[kmax]);
        assert_eq!(index.candidates(&[k0], &[], 32), BTreeSet::from([5]));
        assert_eq!(index.candidates(&[k1], &[], 32), BTreeSet::from([3]));
        assert_eq!(index.candidates(&[other], &[], 32), BTreeSet::from([4]));
        assert_eq!(
            index.candidates(&[kmax], &[], 32),
            BTreeSet::from([2, 3, 4])
        );
        // added out of order (an update indexes an old copy again): the newest are by id
        assert_eq!(index.candidates(&[kmax], &[], 2), BTreeSet::from([3, 4]));
        assert_eq!(index.candidates(&[0x0009_0000], &[], 32), BTreeSet::new());
        assert_eq!(index.len(), 5);
    }

    #[test]
    fn one_shared_lead_key_is_a_common_phrase_not_a_candidate() {
        let (l1, l2, l3, band) = (11, 12, 13, 99);
        let mut index = KeyIndex::default();
        index.insert(7, &[band, l1, l2]);
        // indexed again after an update: still one copy under each key
        index.insert(8, &[l1]);
        index.insert(8, &[l1, l3]);
        let lead = [l1, l2, l3];
        assert_eq!(index.candidates(&[l1], &lead, 32), BTreeSet::new());
        assert_eq!(index.candidates(&[l1, l2], &lead, 32), BTreeSet::from([7]));
        assert_eq!(
            index.candidates(&[l1, l3], &lead, 32),
            BTreeSet::from([8]),
            "8 shares two lead keys, 7 one"
        );
        // any other key shared is enough
        assert_eq!(
            index.candidates(&[band, l3], &lead, 32),
            BTreeSet::from([7])
        );
        // a real lead carried over shares most of its sample
        let full = text("Ceasefire talks resume in Geneva", BODY);
        let teaser = text(
            "Border truce negotiators meet again",
            "Delegations from both countries met in Geneva on Tuesday for a third round of \
             talks on a ceasefire along the disputed border, officials said.",
        );
        let shared = teaser
            .lead_keys()
            .iter()
            .filter(|k| full.lead_keys().contains(k))
            .count();
        assert!(shared >= LEAD_MATCHES, "{shared}");
        let mut index = KeyIndex::default();
        index.insert(1, &full.keys());
        assert_eq!(
            index.candidates(&teaser.keys(), &teaser.lead_keys(), 32),
            BTreeSet::from([1])
        );
    }

    #[test]
    fn stored_keys_never_change() {
        // keys are stored with each copy and compared with keys computed later: any change
        // to words, shingles or hashing must give these again (computed before the words
        // were kept in one string; non-ASCII words, a final sigma, title shingles across the
        // seam, a body under three words)
        let t = text(
            "ΟΔΥΣΣΕΥΣ returns: Straße & Café—news",
            &format!("{BODY} Ünïcödé WORDS, digits 2024 and a final ΣΟΦΟΣ."),
        );
        assert_eq!(
            t.keys(),
            [
                4080759166, 1450025699, 1099041918, 3845783159, 4160411962, 3980165956, 958447101,
                1927883264, 2290810574, 3188190832, 2766302596, 1931580531, 754284069, 2761068357,
                3869935049, 843081668, 4141441101, 2552129299, 4215025423, 1470947625, 245563705,
                1816329705, 1372422003, 1207990934, 3725303510, 2203835639, 4044307289, 937107072
            ]
        );
        assert_eq!((t.body.len(), t.all.len(), t.words), (73, 78, 80));
        assert!(text("Two words", "ab").keys().is_empty());
        assert_eq!(
            text("", BODY).keys(),
            [
                3017828388, 1450025699, 3394003332, 3845783159, 4160411962, 3722102703, 247175706,
                1927883264, 2290810574, 3188190832, 2766302596, 2303052262, 439300969, 1608996922,
                1195150487, 843081668, 4141441101, 2552129299, 4215025423, 1470947625, 245563705,
                1816329705, 1372422003, 1207990934, 3725303510, 2203835639, 4044307289, 937107072
            ]
        );
    }

    /// [`text`] as it was written before words were read byte by byte and shingles hashed
    /// four at a time: a word a string, each shingle hashed on its own.
    fn text_as_before(title: &str, body_text: &str) -> Text {
        let split = |t: &str| -> Vec<String> {
            t.split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(|w| {
                    if w.is_ascii() {
                        w.to_ascii_lowercase()
                    } else {
                        w.to_lowercase()
                    }
                })
                .collect()
        };
        let mut words = split(title);
        let in_title = words.len();
        words.extend(split(body_text));
        let n = words.len();
        let shingle = |i: usize| {
            fold(fnv(&[
                words[i].as_bytes(),
                words[i + 1].as_bytes(),
                words[i + 2].as_bytes(),
            ]))
        };
        let body: Vec<u32> = (in_title..n.saturating_sub(2).max(in_title))
            .map(shingle)
            .collect();
        let in_title_shingles: Vec<u32> =
            (0..in_title).filter(|i| i + 2 < n).map(shingle).collect();
        let t = Text::of_shingles(
            words[..in_title].to_vec(),
            n,
            body.clone(),
            in_title_shingles.clone(),
        );
        // the headline's shingles merged in are the set of all of them, as sorting them was
        assert_eq!(t.all, sorted([body, in_title_shingles].concat()));
        t
    }

    #[test]
    fn minhash_is_the_same_on_every_cpu() {
        // the way it was written first: one function at a time, in 32 bits
        fn before(shingles: &[u32]) -> [u32; HASHES] {
            let mut mins = [u32::MAX; HASHES];
            for &s in shingles {
                for (m, (a, b)) in mins.iter_mut().zip(coefficients()) {
                    *m = (*m).min((a.wrapping_mul(u64::from(s)).wrapping_add(*b) >> 32) as u32);
                }
            }
            mins
        }
        let mut rng = crate::testing::Rng::new(0x1234_5678);
        for len in [0, 1, 2, 3, 5, 17, 250, 1000] {
            let set: Vec<u32> = (0..len)
                .map(|_| rng.next() as u32)
                .chain([0, u32::MAX])
                .collect();
            assert_eq!(minhash(&set), before(&set));
            assert_eq!(minhash_with(&set), before(&set));
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2, as just checked
                    assert_eq!(unsafe { minhash_avx2(&set) }, before(&set));
                }
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                {
                    // SAFETY: the CPU has AVX-512 F and DQ, as just checked
                    assert_eq!(unsafe { minhash_avx512(&set) }, before(&set));
                }
            }
        }
        assert_eq!(minhash(&[]), [u32::MAX; HASHES]);
    }

    #[test]
    fn texts_are_read_as_before_whatever_the_characters() {
        // ASCII, accented and other scripts' letters, digits, a final sigma, marks and
        // punctuation from outside ASCII, words of every length, runs of separators
        const PIECES: &[&str] = &[
            "a",
            "wire",
            "Bank",
            "RATES",
            "2024",
            "x9",
            " ",
            " ",
            " ",
            "  ",
            ", ",
            ".",
            "-",
            "'",
            "\u{2014}",
            "\u{201c}",
            "\u{a0}",
            "é",
            "Straße",
            "ΟΔΥΣΣΕΥΣ",
            "σοφός",
            "東京",
            "naïve",
            "e\u{301}",
            "İstanbul",
            "Ǆ",
            "ﬁ",
            "\u{1f600}",
            "\t",
            "\n",
            "_",
            "٣",
        ];
        let mut rng = crate::testing::Rng::new(0x2545_f491_4f6c_dd1d);
        for _ in 0..3000 {
            let (title, body) = (rng.string_of(PIECES, 12), rng.string_of(PIECES, 150));
            assert_eq!(
                text(&title, &body),
                text_as_before(&title, &body),
                "{title:?} / {body:?}"
            );
        }
    }

    #[test]
    fn keys_round_trip_and_are_stable() {
        let a = text("A title", BODY);
        let k = a.keys();
        assert_eq!(keys_from_bytes(&keys_to_bytes(&k)), Some(k.clone()));
        assert_eq!(text("A title", BODY).keys(), k);
        assert!(text("", "").keys().is_empty());
        assert_eq!(keys_from_bytes(&[1, 2, 3]), None);
    }
}
