//! A tiny seeded PRNG (SplitMix64) so that "random" layer data is the same
//! bytes on every run and every machine, and fast enough in a debug build.

/// SplitMix64: fast, deterministic, good enough for incompressible filler.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Fills `buf` with pseudo-random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for chunk in &mut chunks {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let last = self.next_u64().to_le_bytes();
        rest.copy_from_slice(&last[..rest.len()]);
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn same_seed_same_bytes() {
        let (mut a, mut b) = (vec![0u8; 37], vec![0u8; 37]);
        Rng::new(7).fill(&mut a);
        Rng::new(7).fill(&mut b);
        assert_eq!(a, b);
        Rng::new(8).fill(&mut b);
        assert_ne!(a, b);
    }
}
