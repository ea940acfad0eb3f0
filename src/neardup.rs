//! Near-duplicate detection: the same wire story carried by several outlets under different
//! URLs, with small edits, is one story. Pure: the store keeps the signatures, and a
//! [`BandIndex`] in memory finds the candidates.
//!
//! Method: MinHash over word 3-shingles of title and body (64 hash functions), with LSH
//! banding (16 bands of 4 rows) so that finding candidates costs a few index lookups
//! whatever the number of stories. Two texts whose shingle sets have Jaccard similarity s
//! share a band with probability 1 - (1 - s^4)^16: 0.96 at s = 0.6, 0.05 at s = 0.2.
//! Candidates are then confirmed by their estimated similarity against the threshold.
//! Short items (under [`SHORT_WORDS`] words) carry too little text for that: they are
//! compared on the words of their title alone, and must nearly match (see [`SHORT_THRESHOLD`]).

use std::collections::{BTreeSet, HashMap, HashSet};

/// Hash functions in a signature.
pub const HASHES: usize = 64;
/// Bands in a signature (of `HASHES / BANDS` rows each).
pub const BANDS: usize = 16;
const ROWS: usize = HASHES / BANDS;
/// Items with fewer words than this are compared on their title only.
pub const SHORT_WORDS: usize = 40;
/// The similarity two short items' titles need: near-identical headlines only.
pub const SHORT_THRESHOLD: f64 = 0.9;
/// A short item's headline needs this many words besides the commonest ones to be compared
/// at all: "Morning briefing" or "Live updates" from two outlets are not one story.
pub const SHORT_MIN_TITLE_WORDS: usize = 5;

/// Words too common to tell two headlines apart.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "in", "is", "it", "its",
    "of", "on", "or", "the", "to", "was", "with", "after", "over", "new", "live", "latest",
    "update", "updates", "news", "briefing", "today", "morning", "evening", "daily", "weekly",
];

/// A MinHash signature and what kind of text it was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The minimum of each hash function over the shingles.
    pub mins: [u32; HASHES],
    /// Made from the title alone (a short item).
    pub short: bool,
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// FNV-1a, 64 bits: fixed forever, unlike std's hasher, since signatures are stored.
fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.iter().chain(std::iter::once(&0x1f)) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
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

fn minhash(shingles: &HashSet<u64>) -> [u32; HASHES] {
    let mut mins = [u32::MAX; HASHES];
    for &s in shingles {
        for (m, (a, b)) in mins.iter_mut().zip(coefficients()) {
            let h = (a.wrapping_mul(s).wrapping_add(*b) >> 32) as u32;
            if h < *m {
                *m = h;
            }
        }
    }
    mins
}

/// The signature of an article: shingles of its title and body text, or of its title alone
/// when the whole is short. `None` when there is nothing to compare (no words).
pub fn signature(title: &str, body_text: &str) -> Option<Signature> {
    let title_words = words(title);
    let body_words = words(body_text);
    let short = title_words.len() + body_words.len() < SHORT_WORDS;
    let shingles: HashSet<u64> = if short {
        let significant: HashSet<&str> = title_words
            .iter()
            .map(String::as_str)
            .filter(|w| !STOPWORDS.contains(w))
            .collect();
        if significant.len() < SHORT_MIN_TITLE_WORDS {
            return None;
        }
        title_words.iter().map(|w| fnv(&[w.as_bytes()])).collect()
    } else {
        let all: Vec<&String> = title_words.iter().chain(body_words.iter()).collect();
        all.windows(3)
            .map(|w| fnv(&[w[0].as_bytes(), w[1].as_bytes(), w[2].as_bytes()]))
            .collect()
    };
    if shingles.is_empty() {
        return None;
    }
    Some(Signature {
        mins: minhash(&shingles),
        short,
    })
}

impl Signature {
    /// The band keys to index this signature under; short and long items never share one.
    pub fn bands(&self) -> [i64; BANDS] {
        let mut out = [0i64; BANDS];
        for (i, band) in self.mins.chunks(ROWS).enumerate() {
            let bytes: Vec<u8> = band.iter().flat_map(|m| m.to_le_bytes()).collect();
            out[i] = fnv(&[&[i as u8, u8::from(self.short)], &bytes]) as i64;
        }
        out
    }

    /// Estimated Jaccard similarity of the two texts' shingle sets.
    pub fn similarity(&self, other: &Signature) -> f64 {
        if self.short != other.short {
            return 0.0;
        }
        let same = self
            .mins
            .iter()
            .zip(other.mins.iter())
            .filter(|(a, b)| a == b)
            .count();
        same as f64 / HASHES as f64
    }

    /// Whether `other` is the same story, at `threshold` for full texts.
    pub fn matches(&self, other: &Signature, threshold: f64) -> bool {
        let needed = if self.short {
            SHORT_THRESHOLD.max(threshold)
        } else {
            threshold
        };
        self.similarity(other) >= needed
    }

    /// The signature as stored.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HASHES * 4 + 1);
        out.push(u8::from(self.short));
        for m in self.mins {
            out.extend_from_slice(&m.to_le_bytes());
        }
        out
    }

    /// A stored signature; `None` if the bytes are not one.
    pub fn from_bytes(b: &[u8]) -> Option<Signature> {
        if b.len() != HASHES * 4 + 1 {
            return None;
        }
        let mut mins = [0u32; HASHES];
        for (i, m) in mins.iter_mut().enumerate() {
            *m = u32::from_le_bytes(b[1 + i * 4..5 + i * 4].try_into().ok()?);
        }
        Some(Signature {
            mins,
            short: b[0] == 1,
        })
    }
}

/// Which stories share an LSH band with a signature: a candidate generator kept in memory.
///
/// Band keys are folded to 32 bits and stories are 32-bit ids, 8 bytes per band and story in
/// a chained list plus one map entry per distinct band (about 300 bytes per story): for the
/// stories of a dedup window, a few MB, where the same index as a SQLite table cost the
/// first poll of 1,000 feeds half its time (16 rows per story written at random places,
/// page by page into the WAL, at every commit). Candidates are only candidates: the caller
/// confirms each against the stored signature and date, so an entry whose story has since
/// gone, or whose id was reused, costs a lookup and nothing else.
#[derive(Debug, Default)]
pub struct BandIndex {
    /// Band key -> the newest slot with that key.
    heads: HashMap<u32, u32>,
    /// (story, next older slot with the same key, or [`NO_SLOT`]).
    slots: Vec<(u32, u32)>,
}

const NO_SLOT: u32 = u32::MAX;

fn band_key(band: i64) -> u32 {
    (band as u64 ^ (band as u64 >> 32)) as u32
}

impl BandIndex {
    /// Adds a story under each of its signature's bands. Ids beyond 32 bits are not
    /// indexed (they are not found as near-duplicates; nothing else changes).
    pub fn insert(&mut self, story: i64, sig: &Signature) {
        let Ok(story) = u32::try_from(story) else {
            return;
        };
        if self.slots.len() + BANDS >= NO_SLOT as usize {
            return;
        }
        for band in sig.bands() {
            let slot = self.slots.len() as u32;
            let next = self.heads.insert(band_key(band), slot).unwrap_or(NO_SLOT);
            self.slots.push((story, next));
        }
    }

    /// Stories sharing at least one band with `sig`, at most `per_band` (the newest) per
    /// band.
    pub fn candidates(&self, sig: &Signature, per_band: usize) -> BTreeSet<i64> {
        let mut out = BTreeSet::new();
        for band in sig.bands() {
            let mut slot = self.heads.get(&band_key(band)).copied().unwrap_or(NO_SLOT);
            let mut taken = 0;
            while slot != NO_SLOT && taken < per_band {
                let (story, next) = self.slots[slot as usize];
                out.insert(i64::from(story));
                taken += 1;
                slot = next;
            }
        }
        out
    }

    /// Stories indexed (with repeats, if a story was added twice).
    pub fn len(&self) -> usize {
        self.slots.len() / BANDS
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
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

    #[test]
    fn the_band_index_finds_stories_sharing_a_band_newest_first_and_bounded() {
        let a = signature("Ceasefire talks resume in Geneva", BODY).unwrap();
        let edited = format!("GENEVA (Reuters) - {BODY} A further round is planned.");
        let b = signature("Geneva talks on ceasefire resume", &edited).unwrap();
        let other = signature(
            "Harvest festival opens",
            "Crowds gathered in the old town square on Saturday morning as the annual harvest \
             festival opened with a parade of tractors, brass bands and children in costume, and \
             stalls selling apples, cider and bread lined every street leading to the cathedral.",
        )
        .unwrap();
        let mut index = BandIndex::default();
        assert!(index.is_empty());
        index.insert(7, &a);
        index.insert(9, &other);
        assert_eq!(index.len(), 2);
        assert_eq!(index.candidates(&b, 32), BTreeSet::from([7]));
        assert_eq!(index.candidates(&other, 32), BTreeSet::from([9]));
        // a bucket gives its newest stories first, at most per_band of them
        for id in 100..140 {
            index.insert(id, &a);
        }
        let c = index.candidates(&a, 4);
        assert!(
            c.len() <= 4 * BANDS && c.contains(&139) && !c.contains(&7),
            "{c:?}"
        );
        // ids beyond 32 bits are left out, not wrapped onto others
        index.insert(i64::from(u32::MAX) + 8, &other);
        assert_eq!(index.candidates(&other, 32), BTreeSet::from([9]));
    }

    #[test]
    fn edited_copies_match_and_other_stories_do_not() {
        let a = signature("Ceasefire talks resume in Geneva", BODY).unwrap();
        let edited =
            format!("GENEVA (Reuters) - {BODY} A further round is planned for next month.");
        let b = signature("Geneva talks on ceasefire resume", &edited).unwrap();
        assert!(!a.short);
        assert!(a.similarity(&b) > 0.6, "{}", a.similarity(&b));
        assert!(a.matches(&b, 0.6));
        assert!(a.bands().iter().any(|x| b.bands().contains(x)));
        let other = signature(
            "Ceasefire collapses near the border",
            "Fighting resumed overnight along the disputed border after a ceasefire agreed last \
             month collapsed, with both sides blaming the other for the first shots. Residents of \
             three villages fled towards the capital and aid agencies suspended deliveries, saying \
             the roads were no longer safe for their convoys or their staff.",
        )
        .unwrap();
        assert!(a.similarity(&other) < 0.2, "{}", a.similarity(&other));
        assert!(!a.matches(&other, 0.6));
    }

    #[test]
    fn short_items_compare_on_titles_conservatively() {
        let a = signature("Markets rally as central bank rates hold", "Stocks rose.").unwrap();
        let b = signature(
            "Markets rally as central bank rates hold",
            "Shares climbed on Tuesday.",
        )
        .unwrap();
        let c = signature("Markets fall as central bank rates hold", "Stocks fell.").unwrap();
        assert!(a.short && b.short);
        assert!(a.matches(&b, 0.6));
        assert!(!a.matches(&c, 0.6), "{}", a.similarity(&c));
        // generic headlines are never compared
        assert!(signature("Morning briefing", "Rates held steady.").is_none());
        assert!(signature("Live updates: the election", "Polls close.").is_none());
        let long = signature("Markets rally as rates hold", BODY).unwrap();
        assert!(!a.matches(&long, 0.0), "short and long never compare");
    }

    #[test]
    fn signatures_round_trip_and_are_stable() {
        let a = signature("A title", BODY).unwrap();
        assert_eq!(Signature::from_bytes(&a.to_bytes()), Some(a.clone()));
        assert_eq!(signature("A title", BODY), Some(a));
        assert!(signature("", "").is_none());
    }
}
