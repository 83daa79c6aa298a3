//! Wall-clock timestamps in the RFC 3339 form Kubernetes uses (`2024-05-01T12:00:00Z`).

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time, seconds and nanoseconds since the Unix epoch (UTC).
///
/// Serializes as an RFC 3339 string: whole seconds as `2024-05-01T12:00:00Z`, and
/// with a fraction (microseconds, like Kubernetes' `MicroTime`) when there is one.
///
/// ```
/// use orch_core::Timestamp;
/// let t: Timestamp = "2024-05-01T12:00:00Z".parse().unwrap();
/// assert_eq!(t.unix_seconds(), 1_714_564_800);
/// assert_eq!(t.to_string(), "2024-05-01T12:00:00Z");
/// let later = t + std::time::Duration::from_millis(1500);
/// assert_eq!(later.to_string(), "2024-05-01T12:00:01.500000Z");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
}

/// An RFC 3339 timestamp that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp {input:?}: {reason}")]
pub struct TimestampError {
    /// The text that was given.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Timestamp {
    /// The Unix epoch, 1970-01-01T00:00:00Z.
    pub const EPOCH: Timestamp = Timestamp { secs: 0, nanos: 0 };

    /// A timestamp from seconds and nanoseconds since the epoch (nanoseconds are clamped below 1e9).
    pub fn from_unix(secs: i64, nanos: u32) -> Self {
        Timestamp { secs, nanos: nanos.min(999_999_999) }
    }

    /// Whole seconds since the epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.secs
    }

    /// The sub-second part, in nanoseconds.
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// The current system time.
    pub fn now() -> Self {
        Self::from(SystemTime::now())
    }

    /// This timestamp truncated to whole seconds (what `metav1.Time` keeps).
    pub fn truncate_to_seconds(self) -> Self {
        Timestamp { secs: self.secs, nanos: 0 }
    }

    /// The time elapsed from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(&self, earlier: Timestamp) -> Duration {
        let a = self.secs as i128 * 1_000_000_000 + self.nanos as i128;
        let b = earlier.secs as i128 * 1_000_000_000 + earlier.nanos as i128;
        if a <= b {
            Duration::ZERO
        } else {
            let d = (a - b) as u128;
            Duration::new((d / 1_000_000_000) as u64, (d % 1_000_000_000) as u32)
        }
    }

    fn add_nanos(self, delta: i128) -> Self {
        let total = self.secs as i128 * 1_000_000_000 + self.nanos as i128 + delta;
        let secs = total.div_euclid(1_000_000_000);
        let nanos = total.rem_euclid(1_000_000_000) as u32;
        Timestamp { secs: secs.clamp(i64::MIN as i128, i64::MAX as i128) as i64, nanos }
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp { secs: d.as_secs() as i64, nanos: d.subsec_nanos() },
            Err(e) => Timestamp::EPOCH.add_nanos(-(e.duration().as_nanos() as i128)),
        }
    }
}

impl std::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, d: Duration) -> Timestamp {
        self.add_nanos(d.as_nanos() as i128)
    }
}

impl std::ops::Sub<Duration> for Timestamp {
    type Output = Timestamp;
    fn sub(self, d: Duration) -> Timestamp {
        self.add_nanos(-(d.as_nanos() as i128))
    }
}

// Days since 1970-01-01 for a proleptic Gregorian civil date, and back
// (the well-known era-based algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written digit by digit into a stack buffer: timestamps are formatted on every object write.
        fn put(buf: &mut [u8], at: usize, width: usize, mut v: u64) {
            for i in (0..width).rev() {
                buf[at + i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        }
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400) as u64;
        let (y, mo, d) = civil_from_days(days);
        if !(0..=9999).contains(&y) {
            return write!(f, "{y}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60);
        }
        let mut buf = *b"0000-00-00T00:00:00.000000Z";
        put(&mut buf, 0, 4, y as u64);
        put(&mut buf, 5, 2, mo as u64);
        put(&mut buf, 8, 2, d as u64);
        put(&mut buf, 11, 2, rem / 3600);
        put(&mut buf, 14, 2, rem % 3600 / 60);
        put(&mut buf, 17, 2, rem % 60);
        let text = if self.nanos != 0 {
            put(&mut buf, 20, 6, (self.nanos / 1000) as u64);
            &buf[..]
        } else {
            buf[19] = b'Z';
            &buf[..20]
        };
        f.write_str(std::str::from_utf8(text).map_err(|_| fmt::Error)?)
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| TimestampError { input: s.to_owned(), reason };
        let b = s.as_bytes();
        if b.len() < 20 || !s.is_ascii() {
            return Err(err("expected YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)"));
        }
        let num = |r: std::ops::Range<usize>| -> Result<i64, TimestampError> {
            s[r].parse::<u32>().map(i64::from).map_err(|_| err("expected digits"))
        };
        if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
            return Err(err("expected YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)"));
        }
        let (y, mo, d) = (num(0..4)?, num(5..7)? as u32, num(8..10)? as u32);
        let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) {
            return Err(err("date out of range"));
        }
        if h > 23 || mi > 59 || sec > 60 {
            return Err(err("time of day out of range"));
        }
        let mut i = 19;
        let mut nanos: u32 = 0;
        if b[i] == b'.' {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 9 {
                    nanos = nanos * 10 + (b[i] - b'0') as u32;
                }
                i += 1;
            }
            if i == start {
                return Err(err("empty fraction"));
            }
            for _ in (i - start).min(9)..9 {
                nanos *= 10;
            }
        }
        let offset = match &s[i..] {
            "Z" | "z" => 0,
            o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && o.as_bytes()[3] == b':' => {
                let oh = num(i + 1..i + 3)?;
                let om = num(i + 4..i + 6)?;
                if oh > 23 || om > 59 {
                    return Err(err("offset out of range"));
                }
                let v = oh * 3600 + om * 60;
                if o.starts_with('-') { -v } else { v }
            }
            _ => return Err(err("expected Z or ±HH:MM offset")),
        };
        let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset;
        Ok(Timestamp { secs, nanos })
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": "date-time" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        for s in ["1970-01-01T00:00:00Z", "2000-02-29T23:59:59Z", "2024-05-01T12:00:00.123456Z", "1969-12-31T23:59:59Z"]
        {
            let t: Timestamp = s.parse().unwrap();
            assert_eq!(t.to_string(), s);
        }
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        let t: Timestamp = "2024-05-01T14:00:00+02:00".parse().unwrap();
        assert_eq!(t.to_string(), "2024-05-01T12:00:00Z");
    }

    #[test]
    fn garbage_is_an_error() {
        for s in [
            "",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-05-01 12:00:00",
            "2024-05-01T12:00:00+2",
            "ééééééééééééééééééééé",
            "2024-05-01T12:00:00.",
        ] {
            assert!(s.parse::<Timestamp>().is_err(), "{s}");
        }
    }

    #[test]
    fn arithmetic_crosses_second_boundaries() {
        let t = Timestamp::from_unix(10, 900_000_000);
        assert_eq!(t + Duration::from_millis(200), Timestamp::from_unix(11, 100_000_000));
        assert_eq!((t - Duration::from_secs(11)).unix_seconds(), -1);
        assert_eq!(Timestamp::from_unix(12, 0).saturating_duration_since(t), Duration::from_millis(1100));
    }
}
