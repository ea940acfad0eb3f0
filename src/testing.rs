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
