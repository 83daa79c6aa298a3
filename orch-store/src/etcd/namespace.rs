//! `Namespace`: maps caller keys and ranges into the configured key prefix and back.

use bytes::Bytes;

use crate::kv::{KeyRange, KvError, prefix_end};

/// The key prefix of one [`EtcdKv`](super::EtcdKv); invisible to its callers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Namespace {
    prefix: Bytes,
}

/// The empty key etcd rejects stands for "from the very first key" as `[0]`.
const FIRST_KEY: &[u8] = b"\0";

impl Namespace {
    pub(crate) fn new(prefix: Bytes) -> Self {
        Namespace { prefix }
    }

    /// One key as stored in etcd.
    ///
    /// # Errors
    /// `InvalidRequest` for an empty key (etcd rejects those, and with a prefix it would silently
    /// address the prefix itself).
    pub(crate) fn key(&self, key: &[u8]) -> Result<Vec<u8>, KvError> {
        if key.is_empty() {
            return Err(KvError::InvalidRequest { reason: "key must not be empty".into() });
        }
        Ok(self.join(key))
    }

    /// A key or range as etcd's `(key, range_end)` pair.
    ///
    /// # Errors
    /// `InvalidRequest` for an empty single key.
    pub(crate) fn range(&self, range: &KeyRange) -> Result<(Vec<u8>, Vec<u8>), KvError> {
        if range.is_single() {
            return Ok((self.key(&range.start)?, Vec::new()));
        }
        let start =
            if range.start.is_empty() && self.prefix.is_empty() { FIRST_KEY.to_vec() } else { self.join(&range.start) };
        let end = if &range.end[..] == FIRST_KEY {
            // "Every key from start": within the namespace that ends where the prefix does.
            if self.prefix.is_empty() { FIRST_KEY.to_vec() } else { prefix_end(&self.prefix).to_vec() }
        } else {
            self.join(&range.end)
        };
        Ok((start, end))
    }

    /// A key as etcd returned it, without the prefix.
    pub(crate) fn strip(&self, mut key: Vec<u8>) -> Bytes {
        if !self.prefix.is_empty() && key.starts_with(&self.prefix) {
            key.drain(..self.prefix.len());
        }
        Bytes::from(key)
    }

    /// A key that no caller can address (callers cannot write the empty key), used to probe
    /// revisions without touching data.
    pub(crate) fn probe_key(&self) -> Vec<u8> {
        self.join(FIRST_KEY)
    }

    fn join(&self, key: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.prefix.len() + key.len());
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(key);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(prefix: &'static str) -> Namespace {
        Namespace::new(Bytes::from_static(prefix.as_bytes()))
    }

    #[test]
    fn ranges_map_into_the_prefix() {
        let cases: &[(&str, KeyRange, &[u8], &[u8])] = &[
            ("", KeyRange::key("a"), b"a", b""),
            ("/p/", KeyRange::key("a"), b"/p/a", b""),
            ("", KeyRange::prefix("a/"), b"a/", b"a0"),
            ("/p/", KeyRange::prefix("a/"), b"/p/a/", b"/p/a0"),
            ("", KeyRange::prefix(""), b"\0", b"\0"),
            ("/p/", KeyRange::prefix(""), b"/p/", b"/p0"),
            ("", KeyRange::from_key("m"), b"m", b"\0"),
            ("/p/", KeyRange::from_key("m"), b"/p/m", b"/p0"),
            ("/p/", KeyRange::between("a", "c"), b"/p/a", b"/p/c"),
            ("", KeyRange::between("", "c"), b"\0", b"c"),
        ];
        for (prefix, range, start, end) in cases {
            let (s, e) = ns(prefix).range(range).expect("valid range");
            assert_eq!((&s[..], &e[..]), (*start, *end), "prefix {prefix:?}, range {range:?}");
        }
    }

    #[test]
    fn empty_single_key_is_invalid() {
        assert!(matches!(ns("/p/").key(b""), Err(KvError::InvalidRequest { .. })));
        assert!(matches!(ns("").range(&KeyRange::key("")), Err(KvError::InvalidRequest { .. })));
    }

    #[test]
    fn strip_removes_only_the_prefix() {
        assert_eq!(ns("/p/").strip(b"/p/a".to_vec()), "a");
        assert_eq!(ns("").strip(b"/p/a".to_vec()), "/p/a");
        assert_eq!(ns("/p/").strip(b"/q/a".to_vec()), "/q/a");
    }
}
