//! Unique identifiers and generated names, from a seeded generator so simulations are reproducible.

use std::sync::Mutex;

/// Generates UUID-shaped uids and `generateName` suffixes from a 64-bit seed (splitmix64).
#[derive(Debug)]
pub struct UidGenerator {
    state: Mutex<u64>,
}

const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

impl UidGenerator {
    /// A generator from a seed; the same seed yields the same sequence.
    pub fn new(seed: u64) -> Self {
        UidGenerator { state: Mutex::new(seed) }
    }

    fn next(&self) -> u64 {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A new uid in the 8-4-4-4-12 form, version 4 and variant bits set.
    ///
    /// ```
    /// let g = orch_store::registry::UidGenerator::new(1);
    /// let uid = g.uid();
    /// assert_eq!(uid.len(), 36);
    /// assert_eq!(&uid[14..15], "4");
    /// assert_ne!(uid, g.uid());
    /// ```
    pub fn uid(&self) -> String {
        let hi = self.next();
        let lo = self.next();
        let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
        let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xFFFF,
            hi & 0xFFFF,
            lo >> 48,
            lo & 0xFFFF_FFFF_FFFF
        )
    }

    /// A 5-character suffix for `generateName`, from Kubernetes' alphabet without vowels.
    pub fn name_suffix(&self) -> String {
        let mut v = self.next();
        (0..5)
            .map(|_| {
                let c = NAME_ALPHABET[(v % NAME_ALPHABET.len() as u64) as usize] as char;
                v /= NAME_ALPHABET.len() as u64;
                c
            })
            .collect()
    }
}
