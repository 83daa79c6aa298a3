//! Framing of log records: `len | crc32 | payload`, and a scanner that finds where good records end.
//!
//! Layout of one frame (integers little-endian):
//!
//! ```text
//! +-----------+-----------------------------+------------------+
//! | len: u32  | crc: u32 = crc32(len ‖ body)| body: len bytes  |
//! +-----------+-----------------------------+------------------+
//! ```
//!
//! The checksum covers the length too, so a damaged length is caught like a damaged body.
//! Bodies are never empty, so a zero-filled region (space the file system allocated but never
//! wrote) never parses as a frame.

/// Bytes before the body of a frame.
pub(crate) const HEADER_LEN: usize = 8;

/// Appends one frame holding `body` to `out`.
pub(crate) fn encode(out: &mut Vec<u8>, body: &[u8]) {
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX).to_le_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len);
    crc.update(body);
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(body);
}

/// Why the frame at some offset is not a good frame.
fn check(buf: &[u8], at: usize) -> Result<&[u8], &'static str> {
    let rest = &buf[at..];
    let (Some(len), Some(crc)) = (rest.get(0..4), rest.get(4..8)) else {
        return Err("incomplete record header");
    };
    let len_n = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if len_n == 0 {
        return Err("zero-length record");
    }
    let Some(body) = rest.get(HEADER_LEN..HEADER_LEN.saturating_add(len_n)) else {
        return Err("record extends past the end of the file");
    };
    let mut h = crc32fast::Hasher::new();
    h.update(len);
    h.update(body);
    if h.finalize().to_le_bytes() != crc {
        return Err("checksum mismatch");
    }
    Ok(body)
}

/// How a scanned buffer ends.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ScanEnd {
    /// Every byte belongs to a good frame.
    Clean,
    /// Bad bytes from `offset` that look like an interrupted write: nothing good follows them,
    /// or only zeros lie between them and the next good frame (never-written space).
    Torn {
        /// Where the first bad frame starts.
        offset: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Bad non-zero bytes at `offset` with a good frame after them: damage, not a torn write.
    Corrupt {
        /// Where the first bad frame starts.
        offset: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// The good frames of a buffer, in order, and how it ends.
#[derive(Debug)]
pub(crate) struct Scan<'a> {
    /// `(offset, body)` of each good frame before the first bad one.
    pub frames: Vec<(u64, &'a [u8])>,
    /// Clean, torn or corrupt after the last good frame.
    pub end: ScanEnd,
}

/// Splits `buf` into frames, stopping at the first bad one and classifying what follows.
pub(crate) fn scan(buf: &[u8]) -> Scan<'_> {
    let mut frames = Vec::new();
    let mut at = 0usize;
    while at < buf.len() {
        match check(buf, at) {
            Ok(body) => {
                frames.push((at as u64, body));
                at += HEADER_LEN + body.len();
            }
            Err(reason) => {
                let offset = at as u64;
                let next_good = (at + 1..buf.len()).find(|&i| check(buf, i).is_ok());
                let end = match next_good {
                    Some(next) if buf[at..next].iter().any(|&b| b != 0) => ScanEnd::Corrupt { offset, reason },
                    _ => ScanEnd::Torn { offset, reason },
                };
                return Scan { frames, end };
            }
        }
    }
    Scan { frames, end: ScanEnd::Clean }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(bodies: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for b in bodies {
            encode(&mut out, b);
        }
        out
    }

    #[test]
    fn good_frames_scan_clean() {
        let buf = log(&[b"one", b"two", b"three"]);
        let s = scan(&buf);
        assert_eq!(s.frames.iter().map(|f| f.1).collect::<Vec<_>>(), vec![&b"one"[..], b"two", b"three"]);
        assert_eq!(s.end, ScanEnd::Clean);
    }

    #[test]
    fn every_truncation_is_a_torn_tail_keeping_whole_frames() {
        let buf = log(&[b"one", b"two", b"three"]);
        for cut in 0..buf.len() {
            let s = scan(&buf[..cut]);
            let whole = s.frames.iter().map(|f| f.0 as usize + HEADER_LEN + f.1.len()).max().unwrap_or(0);
            assert!(whole <= cut);
            match s.end {
                ScanEnd::Clean => assert_eq!(whole, cut),
                ScanEnd::Torn { offset, .. } => assert_eq!(offset as usize, whole),
                ScanEnd::Corrupt { .. } => panic!("truncation at {cut} reported as corruption"),
            }
        }
    }

    #[test]
    fn flipped_byte_in_the_middle_is_corrupt_and_at_the_end_is_torn() {
        let mut buf = log(&[b"one", b"two", b"three"]);
        let last = buf.len() - 1;
        buf[last] ^= 1;
        assert!(matches!(scan(&buf).end, ScanEnd::Torn { offset: 22, reason: "checksum mismatch" }));
        let mut buf = log(&[b"one", b"two", b"three"]);
        buf[HEADER_LEN] ^= 0x40;
        let s = scan(&buf);
        assert!(s.frames.is_empty());
        assert_eq!(s.end, ScanEnd::Corrupt { offset: 0, reason: "checksum mismatch" });
    }

    #[test]
    fn zeroed_hole_before_good_frames_is_torn() {
        let mut buf = log(&[b"one"]);
        buf.extend_from_slice(&[0; 32]);
        buf.extend_from_slice(&log(&[b"unsynced"]));
        assert!(matches!(scan(&buf).end, ScanEnd::Torn { offset: 11, .. }));
    }
}
