//! `WatchIndex`: which watchers a key interests, in time independent of the number of watchers.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::kv::{KeyRange, prefix_end};

/// Watchers by exact key, by prefix, and (rarely) by arbitrary range.
///
/// A lookup costs one map probe for the exact key, one per distinct prefix length in use, and a
/// scan of the arbitrary ranges only: so a write costs work for the watchers it interests, not
/// for every watcher.
#[derive(Debug, Default)]
pub(crate) struct WatchIndex {
    keys: BTreeMap<Bytes, Vec<u64>>,
    prefixes: BTreeMap<Bytes, Vec<u64>>,
    /// Distinct prefix lengths in use, with how many prefixes have each.
    prefix_lens: BTreeMap<usize, usize>,
    ranges: Vec<(KeyRange, u64)>,
}

enum Shape<'a> {
    Key(&'a Bytes),
    Prefix(&'a Bytes),
    Range,
}

fn shape(range: &KeyRange) -> Shape<'_> {
    if range.end.is_empty() {
        Shape::Key(&range.start)
    } else if range.end == prefix_end(&range.start) {
        Shape::Prefix(&range.start)
    } else {
        Shape::Range
    }
}

impl WatchIndex {
    pub fn insert(&mut self, id: u64, range: &KeyRange) {
        match shape(range) {
            Shape::Key(k) => self.keys.entry(k.clone()).or_default().push(id),
            Shape::Prefix(p) => {
                let ids = self.prefixes.entry(p.clone()).or_default();
                if ids.is_empty() {
                    *self.prefix_lens.entry(p.len()).or_default() += 1;
                }
                ids.push(id);
            }
            Shape::Range => self.ranges.push((range.clone(), id)),
        }
    }

    pub fn remove(&mut self, id: u64, range: &KeyRange) {
        match shape(range) {
            Shape::Key(k) => {
                if let Some(ids) = self.keys.get_mut(&k[..]) {
                    ids.retain(|i| *i != id);
                    if ids.is_empty() {
                        self.keys.remove(&k[..]);
                    }
                }
            }
            Shape::Prefix(p) => {
                if let Some(ids) = self.prefixes.get_mut(&p[..]) {
                    ids.retain(|i| *i != id);
                    if ids.is_empty() {
                        self.prefixes.remove(&p[..]);
                        if let Some(n) = self.prefix_lens.get_mut(&p.len()) {
                            *n -= 1;
                            if *n == 0 {
                                self.prefix_lens.remove(&p.len());
                            }
                        }
                    }
                }
            }
            Shape::Range => self.ranges.retain(|(_, i)| *i != id),
        }
    }

    /// Appends to `out` the ids of watchers interested in `key`.
    pub fn matching(&self, key: &[u8], out: &mut Vec<u64>) {
        if let Some(ids) = self.keys.get(key) {
            out.extend_from_slice(ids);
        }
        for &len in self.prefix_lens.keys() {
            if len > key.len() {
                break;
            }
            if let Some(ids) = self.prefixes.get(&key[..len]) {
                out.extend_from_slice(ids);
            }
        }
        out.extend(self.ranges.iter().filter(|(r, _)| r.contains(key)).map(|(_, id)| *id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(index: &WatchIndex, key: &str) -> Vec<u64> {
        let mut out = Vec::new();
        index.matching(key.as_bytes(), &mut out);
        out.sort_unstable();
        out
    }

    #[test]
    fn keys_prefixes_and_ranges_match_what_they_contain() {
        let mut index = WatchIndex::default();
        let watchers = [
            (1, KeyRange::key("a/1")),
            (2, KeyRange::prefix("a/")),
            (3, KeyRange::prefix("")),
            (4, KeyRange::between("b", "c")),
            (5, KeyRange::from_key("a/5")),
            (6, KeyRange::prefix("a/")),
        ];
        for (id, r) in &watchers {
            index.insert(*id, r);
        }
        let cases = [("a/1", vec![1, 2, 3, 6]), ("a/9", vec![2, 3, 5, 6]), ("b/x", vec![3, 4, 5]), ("a", vec![3])];
        for (key, want) in cases {
            assert_eq!(matches(&index, key), want, "{key}");
        }
        for (id, r) in &watchers[..4] {
            index.remove(*id, r);
        }
        assert_eq!(matches(&index, "a/9"), vec![5, 6]);
        index.remove(6, &KeyRange::prefix("a/"));
        assert!(index.prefixes.is_empty() && index.prefix_lens.is_empty() && index.keys.is_empty());
    }
}
