//! Human durations: the AGE column (`5s`, `3m`, `5h3m`, `4d`) and `--timeout` values (`30s`, `1m30s`).

use std::time::Duration;

use orch_core::Timestamp;

/// The age of something created at `created`, seen at `now`, as kubectl prints it.
pub fn age(created: Option<Timestamp>, now: Timestamp) -> String {
    match created {
        Some(t) => human_duration(now.saturating_duration_since(t)),
        None => "<unknown>".to_owned(),
    }
}

/// kubectl's `HumanDuration`: exact for short spans, coarser the longer the span (seconds under
/// two minutes, minutes and seconds under ten minutes, minutes under three hours, hours and
/// minutes under eight hours, hours under two days, days and hours under eight days, days under
/// two years, then years).
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        return with_remainder(minutes, "m", secs % 60, "s");
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return with_remainder(hours, "h", minutes % 60, "m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return with_remainder(days, "d", hours % 24, "h");
    }
    if days < 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if years < 8 {
        return with_remainder(years, "y", days % 365, "d");
    }
    format!("{years}y")
}

fn with_remainder(major: u64, major_unit: &str, minor: u64, minor_unit: &str) -> String {
    if minor == 0 { format!("{major}{major_unit}") } else { format!("{major}{major_unit}{minor}{minor_unit}") }
}

/// Parses a duration flag: Go-style `1h2m3s`, `500ms`, `90s`, or a bare number of seconds.
///
/// # Errors
/// A message naming the text when it is not a duration.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {text:?}: use a number with a unit, like 30s, 5m or 1h30m");
    let t = text.trim();
    if t.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        total = total.saturating_add(unit.saturating_mul(u32::try_from(n).map_err(|_| bad())?));
        rest = &rest[unit_len..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        let cases = [
            (5, "5s"),
            (119, "119s"),
            (150, "2m30s"),
            (180, "3m"),
            (45 * 60, "45m"),
            (2 * 3600, "120m"),
            (3 * 3600, "3h"),
            (5 * 3600 + 3 * 60, "5h3m"),
            (30 * 3600, "30h"),
            (4 * 86_400, "4d"),
            (3 * 86_400 + 5 * 3600, "3d5h"),
            (100 * 86_400, "100d"),
            (3 * 365 * 86_400, "3y"),
            (10 * 365 * 86_400, "10y"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(Duration::from_secs(secs)), want, "{secs}s");
        }
    }

    #[test]
    fn age_of_the_future_is_zero_and_of_nothing_unknown() {
        let now = Timestamp::from_unix(1_000, 0);
        assert_eq!(age(Some(Timestamp::from_unix(2_000, 0)), now), "0s");
        assert_eq!(age(Some(Timestamp::from_unix(997, 0)), now), "3s");
        assert_eq!(age(None, now), "<unknown>");
    }

    #[test]
    fn timeouts_parse_in_go_syntax() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        for bad in ["", "s", "5x", "1.5s", "m5"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
