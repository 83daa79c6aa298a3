//! `Quantity`: Kubernetes resource quantities ("100m", "1Gi", "2e3"), parsed exactly.
//!
//! [`Quantity`] keeps the text a user wrote (so manifests round-trip unchanged);
//! [`Quantity::parse`] turns it into a [`ParsedQuantity`], an exact decimal value
//! (an `i128` mantissa times a power of ten) that remembers which notation family
//! it came from, so it can print itself in Kubernetes' canonical form.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// Largest magnitude allowed for the normalised base-10 exponent of a parsed quantity.
const MAX_EXPONENT: i64 = 64;

/// Most significant digits a mantissa may have (every 38-digit number fits an `i128`).
const MAX_DIGITS: usize = 38;

/// Binary suffixes, indexed by their power of 1024.
const BINARY_SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

/// A resource quantity as written in a manifest (`"100m"`, `"0.5"`, `"1Gi"`, `500M`, `"2e3"`).
///
/// The text is kept verbatim; it deserializes from a string or a number (`cpu: 2`,
/// `memory: 1.5`; a number is kept as its shortest decimal rendering) and always
/// serializes as a string. Nothing is validated on decode: call [`Quantity::parse`].
///
/// ```
/// use orch_core::Quantity;
/// let q: Quantity = serde_json::from_str("1.5").unwrap();
/// assert_eq!(q.0, "1.5");
/// assert_eq!(serde_json::to_string(&q).unwrap(), r#""1.5""#);
/// assert_eq!(q.parse().unwrap().millis(), 1500);
///
/// let mem: Quantity = serde_json::from_str(r#""1536Mi""#).unwrap();
/// assert_eq!(mem.parse().unwrap().value(), 1536 * 1024 * 1024);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Quantity(pub String);

impl Quantity {
    /// Wraps a quantity's text without checking it.
    pub fn new(text: impl Into<String>) -> Self {
        Quantity(text.into())
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses the text into an exact value.
    ///
    /// # Errors
    /// A [`QuantityError`] naming the text and what is wrong with it.
    pub fn parse(&self) -> Result<ParsedQuantity, QuantityError> {
        self.0.parse()
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Quantity {
    fn from(text: &str) -> Self {
        Quantity(text.to_owned())
    }
}

impl From<String> for Quantity {
    fn from(text: String) -> Self {
        Quantity(text)
    }
}

impl From<ParsedQuantity> for Quantity {
    fn from(q: ParsedQuantity) -> Self {
        Quantity(q.canonical())
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quantity as a string or a number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Quantity, E> {
                Ok(Quantity(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Quantity, E> {
                Ok(Quantity(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Quantity, E> {
                if v.is_finite() {
                    // `Display` for f64 is the shortest text that reads back as `v`, never exponential.
                    Ok(Quantity(v.to_string()))
                } else {
                    Err(E::custom(format!("quantity {v} is not a finite number")))
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Quantity {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Quantity".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "anyOf": [{ "type": "number" }, { "type": "string" }],
            "description": "A resource quantity such as \"100m\", \"0.5\", \"1Gi\" or \"2e3\"."
        })
    }
}

/// The notation family of a quantity, which its canonical form keeps.
///
/// ```
/// use orch_core::quantity::{ParsedQuantity, QuantityFormat};
/// let q: ParsedQuantity = "1Gi".parse().unwrap();
/// assert_eq!(q.format(), QuantityFormat::BinarySI);
/// assert_eq!(q.with_format(QuantityFormat::DecimalSI).to_string(), "1073741824");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QuantityFormat {
    /// Powers of 1000 with `n u m k M G T P E` (also no suffix at all).
    DecimalSI,
    /// Powers of 1024 with `Ki Mi Gi Ti Pi Ei`.
    BinarySI,
    /// A decimal exponent such as `2e3` or `5E-2`.
    DecimalExponent,
}

/// Why a quantity's text could not be parsed.
///
/// ```
/// use orch_core::quantity::{ParsedQuantity, QuantityError};
/// let err = "12x".parse::<ParsedQuantity>().unwrap_err();
/// assert!(matches!(err, QuantityError::UnknownSuffix { .. }));
/// assert!(err.to_string().contains("\"12x\""));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The text is empty.
    #[error("invalid quantity \"\": the text is empty")]
    Empty,
    /// A character that does not belong where it stands.
    #[error("invalid quantity {input:?}: at position {position}: {reason}")]
    Syntax {
        /// The whole text.
        input: String,
        /// Byte offset of the offending character.
        position: usize,
        /// What was expected or found.
        reason: String,
    },
    /// The number is followed by something that is not a known suffix.
    #[error(
        "invalid quantity {input:?}: unknown suffix {suffix:?} (expected one of n, u, m, k, M, G, T, P, E, \
         Ki, Mi, Gi, Ti, Pi, Ei, or an exponent such as e3)"
    )]
    UnknownSuffix {
        /// The whole text.
        input: String,
        /// The unrecognised suffix.
        suffix: String,
    },
    /// The value cannot be represented exactly.
    #[error("invalid quantity {input:?}: out of range: {reason}")]
    OutOfRange {
        /// The whole text.
        input: String,
        /// Which limit was exceeded.
        reason: &'static str,
    },
}

/// An exactly parsed quantity: `mantissa × 10^exponent`, plus the notation family it was written in.
///
/// The mantissa is an `i128` with no trailing zeros (at most 38 digits) and the exponent lies
/// within ±64, so every value is exact: binary suffixes multiply exactly and `0.1` stays one tenth.
/// Equality, hashing and ordering compare values only (`"1Ki" == "1024"`), never the format.
///
/// ```
/// use orch_core::quantity::ParsedQuantity;
/// let half: ParsedQuantity = "0.5".parse().unwrap();
/// assert_eq!(half.to_string(), "500m");
/// assert_eq!(half.millis(), 500);
/// assert_eq!(half.value(), 1); // whole units round up
/// assert_eq!(half, "500m".parse().unwrap());
///
/// let mem: ParsedQuantity = "2048Ki".parse().unwrap();
/// assert_eq!(mem.canonical(), "2Mi");
/// assert!(mem > "2M".parse().unwrap());
///
/// let sum = half.checked_add(&ParsedQuantity::from_millis(250)).unwrap();
/// assert_eq!(sum.to_string(), "750m");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ParsedQuantity {
    mantissa: i128,
    exponent: i32,
    format: QuantityFormat,
}

impl ParsedQuantity {
    /// Zero, in decimal SI.
    pub const ZERO: ParsedQuantity = ParsedQuantity { mantissa: 0, exponent: 0, format: QuantityFormat::DecimalSI };

    /// A quantity of `millis` thousandths (CPU millicores), in decimal SI.
    pub fn from_millis(millis: i64) -> Self {
        Self::from_parts(i128::from(millis), -3, QuantityFormat::DecimalSI).unwrap_or(ParsedQuantity::ZERO)
    }

    /// A quantity of `units` whole units, in decimal SI (`1000` prints as `1k`).
    pub fn from_value(units: i64) -> Self {
        Self::from_parts(i128::from(units), 0, QuantityFormat::DecimalSI).unwrap_or(ParsedQuantity::ZERO)
    }

    /// A quantity of `bytes` whole units, in binary SI (`1048576` prints as `1Mi`).
    pub fn from_bytes_binary(bytes: i64) -> Self {
        Self::from_parts(i128::from(bytes), 0, QuantityFormat::BinarySI).unwrap_or(ParsedQuantity::ZERO)
    }

    /// Builds a normalised value, or `None` when it leaves the supported range.
    fn from_parts(mantissa: i128, exponent: i64, format: QuantityFormat) -> Option<Self> {
        Self::normalised(mantissa, exponent, format).ok()
    }

    /// Builds a normalised value, or says which limit it breaks: more than [`MAX_DIGITS`]
    /// significant digits (which no text could spell, so the canonical form would not parse
    /// back), or an exponent outside `±MAX_EXPONENT`.
    fn normalised(mantissa: i128, exponent: i64, format: QuantityFormat) -> Result<Self, &'static str> {
        const TOO_MANY_DIGITS: &str = "more than 38 significant digits";
        const EXPONENT: &str = "the decimal exponent must stay within -64..=64";
        let (mut m, mut e) = (mantissa, exponent);
        if m == 0 {
            return Ok(ParsedQuantity { mantissa: 0, exponent: 0, format });
        }
        while m % 10 == 0 {
            m /= 10;
            e = e.checked_add(1).ok_or(EXPONENT)?;
        }
        if m.unsigned_abs() >= 10u128.pow(MAX_DIGITS as u32) {
            return Err(TOO_MANY_DIGITS);
        }
        if !(-MAX_EXPONENT..=MAX_EXPONENT).contains(&e) {
            return Err(EXPONENT);
        }
        Ok(ParsedQuantity { mantissa: m, exponent: i32::try_from(e).map_err(|_| EXPONENT)?, format })
    }

    /// The notation family this value was written in (and prints in).
    pub fn format(&self) -> QuantityFormat {
        self.format
    }

    /// The same value, printed in another notation family.
    pub fn with_format(self, format: QuantityFormat) -> Self {
        ParsedQuantity { format, ..self }
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    /// Whether the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.mantissa < 0
    }

    /// The value in thousandths, rounded away from zero (up in magnitude) as Kubernetes'
    /// `MilliValue` does; saturates at `i64::MIN`/`i64::MAX` when it does not fit.
    pub fn millis(&self) -> i64 {
        self.scaled_round_up(3)
    }

    /// The value in whole units (bytes, for memory), rounded away from zero as Kubernetes'
    /// `Value` does (`0.1` gives 1); saturates at `i64::MIN`/`i64::MAX` when it does not fit.
    pub fn value(&self) -> i64 {
        self.scaled_round_up(0)
    }

    /// The nearest `f64` to the value.
    pub fn as_f64(&self) -> f64 {
        format!("{}e{}", self.mantissa, self.exponent).parse().unwrap_or(f64::NAN)
    }

    /// `value × 10^scale`, rounded away from zero and saturated into an `i64`.
    fn scaled_round_up(&self, scale: i64) -> i64 {
        let m = self.mantissa;
        if m == 0 {
            return 0;
        }
        let e = i64::from(self.exponent) + scale;
        let scaled = if e >= 0 {
            pow10(e).and_then(|p| m.checked_mul(p))
        } else {
            match pow10(-e) {
                Some(d) => {
                    let q = m / d;
                    Some(if m % d == 0 { q } else { q + m.signum() })
                }
                // |m| < 10^38 < d: the value is a non-zero fraction below one.
                None => Some(m.signum()),
            }
        };
        match scaled.and_then(|v| i64::try_from(v).ok()) {
            Some(v) => v,
            None if m > 0 => i64::MAX,
            None => i64::MIN,
        }
    }

    /// The sum, in `self`'s format; `None` when it cannot be represented exactly.
    pub fn checked_add(&self, other: &ParsedQuantity) -> Option<ParsedQuantity> {
        let e = self.exponent.min(other.exponent);
        let a = align(self.mantissa, self.exponent, e)?;
        let b = align(other.mantissa, other.exponent, e)?;
        Self::from_parts(a.checked_add(b)?, i64::from(e), self.format)
    }

    /// The difference, in `self`'s format; `None` when it cannot be represented exactly.
    pub fn checked_sub(&self, other: &ParsedQuantity) -> Option<ParsedQuantity> {
        let neg = ParsedQuantity { mantissa: other.mantissa.checked_neg()?, ..*other };
        self.checked_add(&neg)
    }

    /// Kubernetes' canonical text for the value in its format family.
    ///
    /// Zero is `0`. Binary SI uses the largest of `Ki`..`Ei` that leaves an integer, and falls
    /// back to decimal SI below 1024 or when the value is not a whole number. Decimal SI and
    /// decimal exponent use the largest multiple-of-three exponent that leaves an integer
    /// mantissa (`0.5` → `500m`, `1500M` stays, `2e3` stays); decimal SI falls back to an
    /// exponent below `n`, and pads with zeros above `E`.
    pub fn canonical(&self) -> String {
        if self.mantissa == 0 {
            return "0".to_owned();
        }
        if self.format == QuantityFormat::BinarySI
            && let Some(mut v) = self.exact_integer()
            && v.unsigned_abs() >= 1024
        {
            let mut power = 0;
            while power < BINARY_SUFFIXES.len() - 1 && v % 1024 == 0 {
                v /= 1024;
                power += 1;
            }
            return format!("{v}{}", BINARY_SUFFIXES[power]);
        }
        let exponent = i64::from(self.exponent);
        let shift = exponent.rem_euclid(3);
        let e3 = exponent - shift;
        let digits = format!("{}{}", self.mantissa, "0".repeat(shift as usize));
        match self.format {
            QuantityFormat::DecimalExponent if e3 == 0 => digits,
            QuantityFormat::DecimalExponent => format!("{digits}e{e3}"),
            _ if e3 < -9 => format!("{digits}e{e3}"),
            _ if e3 > 18 => format!("{digits}{}E", "0".repeat((e3 - 18) as usize)),
            _ => format!("{digits}{}", decimal_suffix(e3)),
        }
    }

    /// The value as an `i128` when it is a whole number that fits.
    fn exact_integer(&self) -> Option<i128> {
        if self.exponent < 0 {
            return None;
        }
        pow10(i64::from(self.exponent)).and_then(|p| self.mantissa.checked_mul(p))
    }
}

/// `10^e` when it fits an `i128`.
fn pow10(e: i64) -> Option<i128> {
    10i128.checked_pow(u32::try_from(e).ok()?)
}

/// Re-expresses `m × 10^e` with the smaller exponent `to`.
fn align(m: i128, e: i32, to: i32) -> Option<i128> {
    m.checked_mul(pow10(i64::from(e) - i64::from(to))?)
}

/// The decimal SI suffix for a multiple-of-three exponent in `-9..=18`.
fn decimal_suffix(e3: i64) -> &'static str {
    match e3 {
        -9 => "n",
        -6 => "u",
        -3 => "m",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        15 => "P",
        18 => "E",
        _ => "",
    }
}

impl fmt::Display for ParsedQuantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

impl PartialEq for ParsedQuantity {
    fn eq(&self, other: &Self) -> bool {
        // Normalised, so equal values have equal parts.
        self.mantissa == other.mantissa && self.exponent == other.exponent
    }
}

impl Eq for ParsedQuantity {}

impl Hash for ParsedQuantity {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.mantissa.hash(state);
        self.exponent.hash(state);
    }
}

impl PartialOrd for ParsedQuantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ParsedQuantity {
    fn cmp(&self, other: &Self) -> Ordering {
        let (s1, s2) = (self.mantissa.signum(), other.mantissa.signum());
        if s1 != s2 || s1 == 0 {
            return s1.cmp(&s2);
        }
        let e = self.exponent.min(other.exponent);
        // Only the side with the larger exponent is scaled; if that overflows, its magnitude wins.
        match (align(self.mantissa, self.exponent, e), align(other.mantissa, other.exponent, e)) {
            (Some(a), Some(b)) => a.cmp(&b),
            (None, _) if s1 > 0 => Ordering::Greater,
            (None, _) => Ordering::Less,
            (_, None) if s1 > 0 => Ordering::Less,
            (_, None) => Ordering::Greater,
        }
    }
}

impl FromStr for ParsedQuantity {
    type Err = QuantityError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        parse(input)
    }
}

/// The grammar: `[+-] (digits [. digits?] | . digits) [suffix | (e|E) [+-] digits]`.
fn parse(input: &str) -> Result<ParsedQuantity, QuantityError> {
    if input.is_empty() {
        return Err(QuantityError::Empty);
    }
    let syntax = |position: usize, reason: String| QuantityError::Syntax { input: input.to_owned(), position, reason };
    let out_of_range = |reason: &'static str| QuantityError::OutOfRange { input: input.to_owned(), reason };
    let bytes = input.as_bytes();
    let digits_from = |mut pos: usize| {
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        pos
    };

    let (negative, int_start) = match bytes[0] {
        b'-' => (true, 1),
        b'+' => (false, 1),
        _ => (false, 0),
    };
    let int_end = digits_from(int_start);
    let (frac_start, frac_end) =
        if bytes.get(int_end) == Some(&b'.') { (int_end + 1, digits_from(int_end + 1)) } else { (int_end, int_end) };
    if int_end == int_start && frac_end == frac_start {
        let position = if frac_start > int_end { frac_start } else { int_start };
        return Err(syntax(position, format!("expected a digit, found {}", describe(input, position))));
    }

    let suffix_start = frac_end;
    let suffix = &input[suffix_start..];
    let (format, mut exponent, binary_power) = match suffix {
        "" => (QuantityFormat::DecimalSI, 0i64, 0u32),
        "n" => (QuantityFormat::DecimalSI, -9, 0),
        "u" => (QuantityFormat::DecimalSI, -6, 0),
        "m" => (QuantityFormat::DecimalSI, -3, 0),
        "k" => (QuantityFormat::DecimalSI, 3, 0),
        "M" => (QuantityFormat::DecimalSI, 6, 0),
        "G" => (QuantityFormat::DecimalSI, 9, 0),
        "T" => (QuantityFormat::DecimalSI, 12, 0),
        "P" => (QuantityFormat::DecimalSI, 15, 0),
        "E" => (QuantityFormat::DecimalSI, 18, 0),
        "Ki" => (QuantityFormat::BinarySI, 0, 10),
        "Mi" => (QuantityFormat::BinarySI, 0, 20),
        "Gi" => (QuantityFormat::BinarySI, 0, 30),
        "Ti" => (QuantityFormat::BinarySI, 0, 40),
        "Pi" => (QuantityFormat::BinarySI, 0, 50),
        "Ei" => (QuantityFormat::BinarySI, 0, 60),
        s if s.starts_with(['e', 'E']) => {
            let mut pos = suffix_start + 1;
            let exp_negative = match bytes.get(pos) {
                Some(b'-') => {
                    pos += 1;
                    true
                }
                Some(b'+') => {
                    pos += 1;
                    false
                }
                _ => false,
            };
            let end = digits_from(pos);
            if end == pos || end != bytes.len() {
                let at = if end == pos { pos } else { end };
                return Err(syntax(at, format!("expected an exponent digit, found {}", describe(input, at))));
            }
            let magnitude: i64 = input[pos..end].parse().map_err(|_| out_of_range("exponent too large"))?;
            (QuantityFormat::DecimalExponent, if exp_negative { -magnitude } else { magnitude }, 0)
        }
        s if s.starts_with(|c: char| c.is_ascii_alphabetic()) => {
            return Err(QuantityError::UnknownSuffix { input: input.to_owned(), suffix: s.to_owned() });
        }
        _ => {
            return Err(syntax(suffix_start, format!("unexpected {}", describe(input, suffix_start))));
        }
    };

    // Significant digits: integer and fraction digits without leading or trailing zeros.
    let int_digits = &input[int_start..int_end];
    let frac_digits = &input[frac_start..frac_end];
    let frac_len = i64::try_from(frac_digits.len()).map_err(|_| out_of_range("too many digits"))?;
    exponent = exponent.checked_sub(frac_len).ok_or_else(|| out_of_range("exponent too large"))?;
    let all: String = format!("{int_digits}{frac_digits}");
    let significant = all.trim_start_matches('0');
    let trimmed = significant.trim_end_matches('0');
    if trimmed.is_empty() {
        return Ok(ParsedQuantity { mantissa: 0, exponent: 0, format });
    }
    let trailing = i64::try_from(significant.len() - trimmed.len()).map_err(|_| out_of_range("too many digits"))?;
    exponent = exponent.checked_add(trailing).ok_or_else(|| out_of_range("exponent too large"))?;
    if trimmed.len() > MAX_DIGITS {
        return Err(out_of_range("more than 38 significant digits"));
    }
    let mut mantissa: i128 = trimmed.parse().map_err(|_| out_of_range("more than 38 significant digits"))?;
    if binary_power > 0 {
        mantissa = mantissa.checked_mul(1i128 << binary_power).ok_or_else(|| out_of_range("value too large"))?;
    }
    if negative {
        mantissa = -mantissa;
    }
    // A binary suffix can push the mantissa past 38 digits (`1e37Ki`): refused, since the value's
    // canonical text would not parse back.
    ParsedQuantity::normalised(mantissa, exponent, format).map_err(out_of_range)
}

/// Names the character at `position` for an error message.
fn describe(input: &str, position: usize) -> String {
    match input.get(position..).and_then(|s| s.chars().next()) {
        Some(c) => format!("{c:?}"),
        None => "the end of the text".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> ParsedQuantity {
        s.parse().unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }

    #[test]
    fn canonical_form_follows_kubernetes() {
        let cases = [
            ("0.5", "500m"),
            ("1000m", "1"),
            ("1536Mi", "1536Mi"),
            ("2048Ki", "2Mi"),
            ("2e3", "2e3"),
            ("1500M", "1500M"),
            ("0.1", "100m"),
            ("0", "0"),
            ("0Gi", "0"),
            ("-0", "0"),
            ("0e5", "0"),
            ("1", "1"),
            ("1000", "1k"),
            ("1001", "1001"),
            ("100m", "100m"),
            ("1.5", "1500m"),
            ("1.5Gi", "1536Mi"),
            ("1Ki", "1Ki"),
            ("1024", "1024"),
            ("1024Ki", "1Mi"),
            ("1Ei", "1Ei"),
            ("1024Ei", "1024Ei"),
            ("0.5Ki", "512"),
            ("1023", "1023"),
            ("1.5Ki", "1536"),
            ("-1Ki", "-1Ki"),
            ("-1.5", "-1500m"),
            ("0.0001Ki", "102400u"),
            ("1.0001Ki", "1024102400u"),
            ("1n", "1n"),
            ("1u", "1u"),
            ("1000n", "1u"),
            ("0.000000001", "1n"),
            ("0.0000000001", "100e-12"),
            ("1E", "1E"),
            ("1000E", "1000E"),
            ("1e21", "1e21"),
            ("1e3", "1e3"),
            ("1e1", "10"),
            ("1.5e3", "1500"),
            ("12e6", "12e6"),
            ("1E-2", "10e-3"),
            ("5E-3", "5e-3"),
            ("1e+3", "1e3"),
            ("5.", "5"),
            (".5", "500m"),
            ("+5", "5"),
            ("1k", "1k"),
            ("1000k", "1M"),
            ("12G", "12G"),
            ("7T", "7T"),
            ("3P", "3P"),
            ("007", "7"),
            ("1.000", "1"),
            ("1Mi", "1Mi"),
            ("1.5Mi", "1536Ki"),
        ];
        for (input, want) in cases {
            assert_eq!(q(input).canonical(), want, "canonical of {input:?}");
            assert_eq!(q(input).to_string(), want, "Display of {input:?}");
        }
    }

    #[test]
    fn decimal_si_pads_zeros_above_exa() {
        let big = q("1e21").with_format(QuantityFormat::DecimalSI);
        assert_eq!(big.canonical(), "1000E");
        assert_eq!(q("1000E").canonical(), "1000E");
        assert_eq!(q(&q("1e24").with_format(QuantityFormat::DecimalSI).canonical()), q("1e24"));
    }

    #[test]
    fn canonical_round_trips_to_the_same_value() {
        let inputs = [
            "0",
            "1",
            "0.5",
            ".5",
            "5.",
            "1.5Gi",
            "1536Mi",
            "100m",
            "0.1",
            "1e-10",
            "123.456789",
            "2e3",
            "1E-2",
            "1Ei",
            "1024Ei",
            "7.5Ei",
            "-3.25Ki",
            "99999999999999999999999999999999999999",
            "1e64",
            "1e-64",
            "1.0001Ki",
            "0.0001Ki",
            "123456789n",
            "-0.001",
            "1500M",
            "999u",
        ];
        for input in inputs {
            let parsed = q(input);
            let canonical = parsed.canonical();
            let again = q(&canonical);
            assert_eq!(again, parsed, "{input:?} -> {canonical:?}");
            assert_eq!(again.canonical(), canonical, "canonical is a fixed point for {input:?}");
        }
    }

    #[test]
    fn millis_and_value_round_up_away_from_zero() {
        let cases = [
            ("1", 1000, 1),
            ("0.5", 500, 1),
            ("100m", 100, 1),
            ("1m", 1, 1),
            ("0.1m", 1, 1),
            ("1n", 1, 1),
            ("1.5Gi", 1_610_612_736_000, 1_610_612_736),
            ("1Ki", 1_024_000, 1024),
            ("0", 0, 0),
            ("-1.5", -1500, -2),
            ("-0.1m", -1, -1),
            ("2e3", 2_000_000, 2000),
            ("1E-2", 10, 1),
            ("1.0001Ki", 1_024_103, 1025),
            ("1e-64", 1, 1),
            ("-1e-64", -1, -1),
            ("8Ei", i64::MAX, i64::MAX),
            ("1e64", i64::MAX, i64::MAX),
            ("-1e64", i64::MIN, i64::MIN),
            ("9223372036854775807", i64::MAX, i64::MAX),
            ("9223372036854775", 9_223_372_036_854_775_000, 9_223_372_036_854_775),
        ];
        for (input, millis, value) in cases {
            assert_eq!(q(input).millis(), millis, "millis of {input:?}");
            assert_eq!(q(input).value(), value, "value of {input:?}");
        }
    }

    #[test]
    fn as_f64_is_the_nearest_float() {
        let cases = [("0.1", 0.1), ("1.5Gi", 1_610_612_736.0), ("-2e3", -2000.0), ("250m", 0.25), ("0", 0.0)];
        for (input, want) in cases {
            assert_eq!(q(input).as_f64(), want, "{input:?}");
        }
    }

    #[test]
    fn formats_are_detected_from_the_suffix() {
        let cases = [
            ("1", QuantityFormat::DecimalSI),
            ("1m", QuantityFormat::DecimalSI),
            ("1E", QuantityFormat::DecimalSI),
            ("1Ki", QuantityFormat::BinarySI),
            ("1e3", QuantityFormat::DecimalExponent),
            ("1E3", QuantityFormat::DecimalExponent),
        ];
        for (input, want) in cases {
            assert_eq!(q(input).format(), want, "{input:?}");
        }
    }

    #[test]
    fn equality_and_order_compare_exact_values() {
        let equal =
            [("1Ki", "1024"), ("0.5", "500m"), ("1e3", "1k"), ("1.5Gi", "1536Mi"), ("0", "-0m"), ("1E", "1e18")];
        for (a, b) in equal {
            assert_eq!(q(a), q(b), "{a:?} == {b:?}");
            assert_eq!(q(a).cmp(&q(b)), Ordering::Equal);
        }
        let less = [
            ("1M", "1Mi"),
            ("999m", "1"),
            ("-1", "0"),
            ("-2", "-1"),
            ("1n", "1u"),
            ("1e-64", "1n"),
            ("1", "1e64"),
            ("-1e64", "-1"),
            ("99999999999999999999999999999999999999", "1e64"),
            ("-1e64", "-99999999999999999999999999999999999999"),
            ("0.1", "100.000000001m"),
        ];
        for (a, b) in less {
            assert!(q(a) < q(b), "{a:?} < {b:?}");
            assert!(q(b) > q(a), "{b:?} > {a:?}");
        }
    }

    #[test]
    fn hashing_agrees_with_equality() {
        use std::collections::HashSet;
        let set: HashSet<ParsedQuantity> = ["1Ki", "1024", "1.024k", "1024000m"].iter().map(|s| q(s)).collect();
        assert_eq!(set.len(), 1);
    }

    /// Found by the `quantity` fuzz target: a binary suffix multiplied the mantissa past 38
    /// digits, so the canonical text (`168379443991167881126260260316886597632P`) did not parse.
    #[test]
    fn binary_suffix_beyond_38_digits_is_out_of_range_and_canonical_text_always_parses() {
        let err = "156815577290177234566081557718000000000000000Gi".parse::<ParsedQuantity>().unwrap_err();
        assert!(matches!(err, QuantityError::OutOfRange { reason: "more than 38 significant digits", .. }), "{err}");
        for text in ["99999999999999999999999999999999999Ki", "1e37Ki", "12345678901234567890123456789012345678"] {
            if let Ok(v) = text.parse::<ParsedQuantity>() {
                assert_eq!(q(&v.canonical()), v, "{text}");
            }
        }
        let big = q("90000000000000000000000000000000000001");
        assert_eq!(big.checked_add(&big), None, "a 39-digit sum is not representable");
    }

    #[test]
    fn checked_arithmetic_is_exact_and_keeps_the_left_format() {
        let add = [("0.5", "250m", "750m"), ("1Gi", "512Mi", "1536Mi"), ("1", "-1", "0"), ("0.1", "0.2", "300m")];
        for (a, b, want) in add {
            assert_eq!(q(a).checked_add(&q(b)).map(|v| v.canonical()), Some(want.to_owned()), "{a} + {b}");
        }
        let sub = [("1", "250m", "750m"), ("2Gi", "1Gi", "1Gi"), ("100m", "200m", "-100m")];
        for (a, b, want) in sub {
            assert_eq!(q(a).checked_sub(&q(b)).map(|v| v.canonical()), Some(want.to_owned()), "{a} - {b}");
        }
        assert_eq!(q("1e64").checked_add(&q("1e-64")), None, "cannot align 128 digits");
        let max = q("99999999999999999999999999999999999999");
        assert_eq!(max.checked_add(&max), None, "39 significant digits do not fit");
        assert_eq!(q("1e38").checked_add(&q("1e38")).map(|v| v.canonical()), Some("200e36".to_owned()));
    }

    #[test]
    fn constructors_build_the_expected_values() {
        assert_eq!(ParsedQuantity::from_millis(1500).canonical(), "1500m");
        assert_eq!(ParsedQuantity::from_millis(2000).canonical(), "2");
        assert_eq!(ParsedQuantity::from_millis(i64::MIN).millis(), i64::MIN);
        assert_eq!(ParsedQuantity::from_value(1000).canonical(), "1k");
        assert_eq!(ParsedQuantity::from_bytes_binary(1 << 20).canonical(), "1Mi");
        assert_eq!(ParsedQuantity::from_bytes_binary(1536).canonical(), "1536");
        assert_eq!(ParsedQuantity::from_bytes_binary(i64::MAX).value(), i64::MAX);
        assert_eq!(ParsedQuantity::from_bytes_binary(0), ParsedQuantity::ZERO);
        assert_eq!(Quantity::from(ParsedQuantity::from_millis(100)).0, "100m");
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let corpus = [
            "",
            " ",
            " 1",
            "1 ",
            "1 Gi",
            "1.2.3",
            "12x",
            "--1",
            "+-1",
            "-",
            "+",
            ".",
            "-.",
            "1e",
            "1e-",
            "1e+",
            "1E+",
            "1e1.5",
            "1ee3",
            "1Ki3",
            "1KiB",
            "1K",
            "1kk",
            "1mi",
            "Gi",
            "e3",
            "1,5",
            "1_000",
            "0x10",
            "１",
            "1µ",
            "1e99999999999999999999",
            "1e9223372036854775807",
            "1e-9223372036854775808",
            "1e65",
            "1e-65",
            "0.1e-64",
            "1Ei1",
            "123456789012345678901234567890123456789",
            "9999999999999999999999999999999999999Ei",
            "NaN",
            "inf",
            "1\n",
            "\t1",
            "1/2",
            "1..",
            "..1",
            "1.e",
            "1m5",
        ];
        for input in corpus {
            let result = std::panic::catch_unwind(|| input.parse::<ParsedQuantity>());
            match result {
                Ok(Err(err)) => assert!(
                    input.is_empty() || err.to_string().contains(&format!("{input:?}")),
                    "error for {input:?} names it: {err}"
                ),
                Ok(Ok(v)) => panic!("{input:?} parsed as {v}"),
                Err(_) => panic!("{input:?} panicked"),
            }
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let cases = [
            ("", "the text is empty"),
            ("1.2.3", "at position 3: unexpected '.'"),
            ("12x", "unknown suffix \"x\""),
            ("--1", "at position 1: expected a digit, found '-'"),
            ("1e", "at position 2: expected an exponent digit, found the end of the text"),
            (" 1", "at position 0: expected a digit, found ' '"),
            ("1e99999999999999999999", "exponent too large"),
            ("1e65", "within -64..=64"),
            ("123456789012345678901234567890123456789", "more than 38 significant digits"),
            ("99999999999999999999999999999999999Ei", "value too large"),
        ];
        for (input, want) in cases {
            let err = input.parse::<ParsedQuantity>().unwrap_err().to_string();
            assert!(err.contains(want), "{input:?}: {err:?} should contain {want:?}");
        }
    }

    #[test]
    fn deserializes_from_strings_and_numbers() {
        let json = [("\"100m\"", "100m"), ("2", "2"), ("1.5", "1.5"), ("-3", "-3"), ("0.1", "0.1"), ("\"1Gi\"", "1Gi")];
        for (text, want) in json {
            let got: Quantity = serde_json::from_str(text).unwrap();
            assert_eq!(got.0, want, "JSON {text}");
            assert_eq!(serde_json::to_string(&got).unwrap(), format!("{want:?}"));
        }
        let yaml = [("cpu: 2", "2"), ("cpu: 1.5", "1.5"), ("cpu: 500m", "500m"), ("cpu: \"1e3\"", "1e3")];
        for (text, want) in yaml {
            let got: BTreeMapQ = yaml_serde::from_str(text).unwrap();
            assert_eq!(got["cpu"].0, want, "YAML {text}");
        }
        for bad in ["true", "null", "[1]", "{}"] {
            assert!(serde_json::from_str::<Quantity>(bad).is_err(), "{bad} is not a quantity");
        }
    }

    type BTreeMapQ = std::collections::BTreeMap<String, Quantity>;

    #[test]
    fn text_round_trips_verbatim() {
        for text in ["0.50", "1536Mi", "1000m", "+1", "garbage"] {
            let q = Quantity::from(text);
            let json = serde_json::to_string(&q).unwrap();
            assert_eq!(serde_json::from_str::<Quantity>(&json).unwrap(), q);
            assert_eq!(q.to_string(), text);
        }
    }
}
