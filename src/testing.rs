//! What unit tests share: random input that is the same at every run.

/// Xorshift64: a fixed sequence from its seed, for tests that compare two ways of computing
/// one thing on many inputs.
pub(crate) struct Rng(u64);

impl Rng {
    /// A sequence started from `seed` (not zero).
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next number.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// The next number below `n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A string of fewer than `most` of `pieces`, picked at random.
    pub(crate) fn string_of(&mut self, pieces: &[&str], most: usize) -> String {
        let len = self.below(most);
        (0..len).map(|_| pieces[self.below(pieces.len())]).collect()
    }
}

/// Every file of the shared corpus (`../shared/corpus` beside the checkout), for tests that
/// run over real feeds; `None`, with a note on stderr, when it is not there.
pub(crate) fn corpus_files() -> Option<Vec<std::path::PathBuf>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if !dir.is_dir() {
        eprintln!("skipping the corpus: none at {}", dir.display());
        return None;
    }
    let mut out = Vec::new();
    let mut todo = vec![dir];
    while let Some(path) = todo.pop() {
        if path.is_dir() {
            // a corpus that is there but cannot be read fails the test, not skips it
            todo.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            out.push(path);
        }
    }
    out.sort();
    Some(out)
}
