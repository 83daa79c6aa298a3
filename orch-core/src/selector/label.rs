//! Label selectors: the `matchLabels`/`matchExpressions` shape and the string form.
//!
//! [`LabelSelector`] is the structured shape objects carry; [`Selector`] is the parsed form
//! both it and the string form (`app=web,tier!=db,env in (a,b),!legacy`) turn into, and the
//! one that matches label sets.
//!
//! Kubernetes semantics: an empty selector (structured or string) matches every object,
//! while an absent selector (`None`) matches none. The `None` case is the caller's to decide.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A label selector in Kubernetes' structured shape.
///
/// Empty, it matches everything.
///
/// ```
/// use std::collections::BTreeMap;
/// use orch_core::{LabelSelector, LabelSelectorRequirement};
/// let sel = LabelSelector {
///     match_labels: BTreeMap::from([("app".to_owned(), "web".to_owned())]),
///     match_expressions: vec![LabelSelectorRequirement {
///         key: "tier".to_owned(),
///         operator: "NotIn".to_owned(),
///         values: vec!["db".to_owned()],
///     }],
/// };
/// let labels = BTreeMap::from([("app".to_owned(), "web".to_owned())]);
/// assert_eq!(sel.matches(&labels), Ok(true));
/// assert_eq!(sel.to_selector().unwrap().to_string(), "app=web,tier notin (db)");
/// assert_eq!(LabelSelector::default().matches(&BTreeMap::new()), Ok(true));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    /// Labels that must all be present with these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    /// Set-based requirements, all of which must hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// One set-based requirement: `key` `operator` `values`.
///
/// ```
/// use orch_core::LabelSelectorRequirement;
/// let req: LabelSelectorRequirement =
///     serde_json::from_str(r#"{"key":"env","operator":"In","values":["prod"]}"#).unwrap();
/// assert_eq!(req.operator, "In");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelectorRequirement {
    /// The label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    /// Values for `In` and `NotIn`; empty for `Exists` and `DoesNotExist`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

impl LabelSelector {
    /// Whether the selector has no requirements (and so matches everything).
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }

    /// Validates the selector and converts it to its parsed form.
    ///
    /// # Errors
    /// [`LabelSelectorError::Field`] naming the first offending field, e.g.
    /// `matchExpressions[1].operator: unsupported value "Foo"`.
    pub fn to_selector(&self) -> Result<Selector, LabelSelectorError> {
        Selector::try_from(self)
    }

    /// Whether `labels` satisfy every requirement.
    ///
    /// # Errors
    /// As [`LabelSelector::to_selector`], when the selector itself is invalid.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> Result<bool, LabelSelectorError> {
        Ok(self.to_selector()?.matches(labels))
    }
}

/// Why a selector is invalid.
///
/// ```
/// use orch_core::selector::label::{LabelSelectorError, Selector};
/// let err = Selector::parse("app in a").unwrap_err();
/// assert!(matches!(err, LabelSelectorError::Parse { position: 7, .. }));
/// assert!(err.to_string().contains("at position 7: expected '('"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LabelSelectorError {
    /// The string form does not parse.
    #[error("invalid label selector {input:?}: at position {position}: {message}")]
    Parse {
        /// The whole selector string.
        input: String,
        /// Byte offset where the problem starts.
        position: usize,
        /// What was expected or is wrong.
        message: String,
    },
    /// A field of the structured form is invalid.
    #[error("{field}: {message}")]
    Field {
        /// Path of the field within the selector, e.g. `matchExpressions[1].operator`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A requirement built in code is invalid.
    #[error("invalid label requirement: {message}")]
    Requirement {
        /// What is wrong with it.
        message: String,
    },
}

/// The operator of a [`Requirement`].
///
/// ```
/// use orch_core::selector::label::{Op, Selector};
/// let sel = Selector::parse("env in (a,b)").unwrap();
/// assert_eq!(sel.requirements()[0].op(), Op::In);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// `key=value` (also `==`): the label is present with this value.
    Equals,
    /// `key!=value`: the label is absent or has another value.
    NotEquals,
    /// `key in (a,b)`: the label is present with one of the values.
    In,
    /// `key notin (a,b)`: the label is absent or has none of the values.
    NotIn,
    /// `key`: the label is present.
    Exists,
    /// `!key`: the label is absent.
    DoesNotExist,
    /// `key>n`: the label is present and an integer greater than `n`.
    Gt,
    /// `key<n`: the label is present and an integer less than `n`.
    Lt,
}

impl Op {
    /// The operator for a structured `matchExpressions[].operator` name; only `In`, `NotIn`,
    /// `Exists` and `DoesNotExist` are valid there.
    pub fn from_operator_name(name: &str) -> Option<Op> {
        match name {
            "In" => Some(Op::In),
            "NotIn" => Some(Op::NotIn),
            "Exists" => Some(Op::Exists),
            "DoesNotExist" => Some(Op::DoesNotExist),
            _ => None,
        }
    }
}

/// Which part of a requirement a check failed on.
enum Part {
    Key,
    Values,
    Value(usize),
}

/// Checks a requirement's key, value count and values for its operator.
fn check_requirement(key: &str, op: Op, values: &[String]) -> Result<(), (Part, String)> {
    validate_label_key(key).map_err(|reason| (Part::Key, format!("invalid label key {key:?}: {reason}")))?;
    match op {
        Op::In | Op::NotIn if values.is_empty() => {
            return Err((Part::Values, "must be specified when the operator is In or NotIn".to_owned()));
        }
        Op::Exists | Op::DoesNotExist if !values.is_empty() => {
            return Err((Part::Values, "may not be specified when the operator is Exists or DoesNotExist".to_owned()));
        }
        Op::Equals | Op::NotEquals | Op::Gt | Op::Lt if values.len() != 1 => {
            return Err((Part::Values, format!("exactly one value is required for {op:?}, got {}", values.len())));
        }
        _ => {}
    }
    for (i, value) in values.iter().enumerate() {
        if matches!(op, Op::Gt | Op::Lt) {
            value.parse::<i64>().map_err(|_| (Part::Value(i), format!("{value:?} is not an integer")))?;
        } else {
            validate_label_value(value)
                .map_err(|reason| (Part::Value(i), format!("invalid label value {value:?}: {reason}")))?;
        }
    }
    Ok(())
}

/// One requirement on one label key. Constructed only through validation, so it is always well formed.
///
/// ```
/// use std::collections::BTreeMap;
/// use orch_core::selector::label::{Op, Requirement};
/// let req = Requirement::new("env", Op::NotIn, ["prod", "canary"]).unwrap();
/// assert_eq!(req.to_string(), "env notin (canary,prod)");
/// assert!(req.matches(&BTreeMap::new()));
/// assert!(Requirement::new("env", Op::In, Vec::<String>::new()).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Requirement {
    key: String,
    op: Op,
    values: Vec<String>,
}

impl Requirement {
    /// A validated requirement; values are sorted and deduplicated.
    ///
    /// `Equals`, `NotEquals`, `Gt` and `Lt` take exactly one value (an integer for `Gt`/`Lt`),
    /// `In` and `NotIn` at least one, `Exists` and `DoesNotExist` none.
    ///
    /// # Errors
    /// [`LabelSelectorError::Requirement`] for an invalid key, value or value count.
    pub fn new<I, S>(key: impl Into<String>, op: Op, values: I) -> Result<Self, LabelSelectorError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let key = key.into();
        let values: Vec<String> = values.into_iter().map(Into::into).collect();
        check_requirement(&key, op, &values).map_err(|(part, message)| LabelSelectorError::Requirement {
            message: match part {
                Part::Key => message,
                Part::Values => format!("values: {message}"),
                Part::Value(i) => format!("values[{i}]: {message}"),
            },
        })?;
        Ok(Self::new_unchecked(key, op, values))
    }

    /// Builds an already validated requirement, normalising its values.
    fn new_unchecked(key: String, op: Op, mut values: Vec<String>) -> Self {
        values.sort();
        values.dedup();
        Requirement { key, op, values }
    }

    /// The label key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn op(&self) -> Op {
        self.op
    }

    /// The values, sorted and deduplicated.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// The one key and value this requirement demands (`k=v`, or `k in (v)`), if it demands exactly one;
    /// used to index watchers by label.
    ///
    /// ```
    /// use orch_core::Selector;
    /// let s = Selector::parse("app=web,tier in (a,b)").unwrap();
    /// let eq: Vec<_> = s.requirements().iter().filter_map(|r| r.equals_value()).collect();
    /// assert_eq!(eq, [("app", "web")]);
    /// ```
    pub fn equals_value(&self) -> Option<(&str, &str)> {
        match (self.op, self.values.as_slice()) {
            (Op::Equals | Op::In, [v]) => Some((&self.key, v)),
            _ => None,
        }
    }

    /// Whether `labels` satisfy this requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let found = labels.get(&self.key);
        let listed = |v: &String| self.values.binary_search(v).is_ok();
        match self.op {
            Op::Equals | Op::In => found.is_some_and(listed),
            Op::NotEquals | Op::NotIn => !found.is_some_and(listed),
            Op::Exists => found.is_some(),
            Op::DoesNotExist => found.is_none(),
            Op::Gt | Op::Lt => {
                let (Some(have), Some(bound)) = (
                    found.and_then(|v| v.parse::<i64>().ok()),
                    self.values.first().and_then(|v| v.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if self.op == Op::Gt { have > bound } else { have < bound }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self.values.first().map(String::as_str).unwrap_or_default();
        match self.op {
            Op::Equals => write!(f, "{}={first}", self.key),
            Op::NotEquals => write!(f, "{}!={first}", self.key),
            Op::In => write!(f, "{} in ({})", self.key, self.values.join(",")),
            Op::NotIn => write!(f, "{} notin ({})", self.key, self.values.join(",")),
            Op::Exists => write!(f, "{}", self.key),
            Op::DoesNotExist => write!(f, "!{}", self.key),
            Op::Gt => write!(f, "{}>{first}", self.key),
            Op::Lt => write!(f, "{}<{first}", self.key),
        }
    }
}

/// A parsed label selector: a conjunction of [`Requirement`]s, kept sorted by key, operator and values.
///
/// The empty selector matches every label set. `Display` prints the canonical string form,
/// which parses back to an equal selector.
///
/// ```
/// use std::collections::BTreeMap;
/// use orch_core::selector::label::Selector;
/// let sel = Selector::parse("tier!=db, app==web,env in (prod,dev),!legacy").unwrap();
/// assert_eq!(sel.to_string(), "app=web,env in (dev,prod),!legacy,tier!=db");
/// let labels = BTreeMap::from([("app".to_owned(), "web".to_owned()), ("env".to_owned(), "dev".to_owned())]);
/// assert!(sel.matches(&labels));
/// assert!(Selector::everything().matches(&labels));
/// assert_eq!(Selector::parse(&sel.to_string()).unwrap(), sel);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

impl Selector {
    /// The empty selector, which matches everything.
    pub fn everything() -> Self {
        Selector::default()
    }

    /// A selector of these requirements (all must hold).
    pub fn new(requirements: impl IntoIterator<Item = Requirement>) -> Self {
        let mut requirements: Vec<Requirement> = requirements.into_iter().collect();
        requirements.sort();
        Selector { requirements }
    }

    /// An equality selector for a label map such as a Service's `spec.selector`.
    ///
    /// # Errors
    /// [`LabelSelectorError::Field`] for an invalid key or value (field `[key]`).
    pub fn from_labels(labels: &BTreeMap<String, String>) -> Result<Self, LabelSelectorError> {
        equality_requirements(labels, "").map(Selector::new)
    }

    /// Parses the string form: comma-separated requirements `key=value`, `key==value`,
    /// `key!=value`, `key in (a,b)`, `key notin (a,b)`, `key`, `!key`, `key>n`, `key<n`.
    /// Whitespace between tokens is ignored; the empty string selects everything.
    ///
    /// # Errors
    /// [`LabelSelectorError::Parse`] with the byte position of the first problem.
    pub fn parse(input: &str) -> Result<Self, LabelSelectorError> {
        Parser { input, pos: 0 }.selector()
    }

    /// Whether the selector has no requirements.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The requirements, in canonical order.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        super::write_comma_separated(f, &self.requirements)
    }
}

impl FromStr for Selector {
    type Err = LabelSelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Selector::parse(s)
    }
}

/// `Equals` requirements for a label map; errors name `{prefix}[key]` (or `{prefix}` for a bad key).
fn equality_requirements(
    labels: &BTreeMap<String, String>,
    prefix: &str,
) -> Result<Vec<Requirement>, LabelSelectorError> {
    labels
        .iter()
        .map(|(key, value)| {
            let values = vec![value.clone()];
            check_requirement(key, Op::Equals, &values).map_err(|(part, message)| LabelSelectorError::Field {
                field: match part {
                    Part::Key => prefix.to_owned(),
                    _ => format!("{prefix}[{key}]"),
                },
                message,
            })?;
            Ok(Requirement::new_unchecked(key.clone(), Op::Equals, values))
        })
        .collect()
}

impl TryFrom<&LabelSelector> for Selector {
    type Error = LabelSelectorError;

    fn try_from(sel: &LabelSelector) -> Result<Self, Self::Error> {
        let mut requirements = equality_requirements(&sel.match_labels, "matchLabels")?;
        for (i, expr) in sel.match_expressions.iter().enumerate() {
            let path = format!("matchExpressions[{i}]");
            let Some(op) = Op::from_operator_name(&expr.operator) else {
                return Err(LabelSelectorError::Field {
                    field: format!("{path}.operator"),
                    message: format!(
                        "unsupported value {:?}: supported values: \"In\", \"NotIn\", \"Exists\", \"DoesNotExist\"",
                        expr.operator
                    ),
                });
            };
            check_requirement(&expr.key, op, &expr.values).map_err(|(part, message)| LabelSelectorError::Field {
                field: match part {
                    Part::Key => format!("{path}.key"),
                    Part::Values => format!("{path}.values"),
                    Part::Value(j) => format!("{path}.values[{j}]"),
                },
                message,
            })?;
            requirements.push(Requirement::new_unchecked(expr.key.clone(), op, expr.values.clone()));
        }
        Ok(Selector::new(requirements))
    }
}

impl TryFrom<LabelSelector> for Selector {
    type Error = LabelSelectorError;

    fn try_from(sel: LabelSelector) -> Result<Self, Self::Error> {
        Selector::try_from(&sel)
    }
}

/// Whether a character ends a key or value token in the string form.
fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, '!' | '=' | ',' | '(' | ')' | '<' | '>')
}

/// A recursive-descent parser over the string form.
struct Parser<'a> {
    input: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn error(&self, position: usize, message: impl Into<String>) -> LabelSelectorError {
        LabelSelectorError::Parse { input: self.input.to_owned(), position, message: message.into() }
    }

    fn rest(&self) -> &str {
        &self.input[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_whitespace(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    /// Consumes `c` if it is next.
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// Describes what stands at the cursor, for error messages.
    fn found(&self) -> String {
        match self.peek() {
            None => "the end".to_owned(),
            Some(c) if is_delimiter(c) => format!("{c:?}"),
            Some(_) => format!("{:?}", &self.rest()[..self.token_len()]),
        }
    }

    fn token_len(&self) -> usize {
        self.rest().find(is_delimiter).unwrap_or(self.rest().len())
    }

    /// Consumes a (possibly empty) run of non-delimiter characters, returning it and its position.
    fn token(&mut self) -> (usize, &'a str) {
        let start = self.pos;
        self.pos += self.token_len();
        let input: &'a str = self.input;
        (start, &input[start..self.pos])
    }

    fn selector(mut self) -> Result<Selector, LabelSelectorError> {
        let mut requirements = Vec::new();
        self.skip_whitespace();
        if self.peek().is_none() {
            return Ok(Selector::everything());
        }
        loop {
            requirements.push(self.requirement()?);
            self.skip_whitespace();
            if self.peek().is_none() {
                return Ok(Selector::new(requirements));
            }
            if !self.eat(',') {
                return Err(self.error(self.pos, format!("expected ',' or the end, found {}", self.found())));
            }
        }
    }

    fn key(&mut self) -> Result<String, LabelSelectorError> {
        self.skip_whitespace();
        let found = self.found();
        let (at, key) = self.token();
        if key.is_empty() {
            return Err(self.error(at, format!("expected a label key, found {found}")));
        }
        validate_label_key(key).map_err(|reason| self.error(at, format!("invalid label key {key:?}: {reason}")))?;
        Ok(key.to_owned())
    }

    /// A label value (possibly empty); whitespace before it is skipped.
    fn value(&mut self) -> Result<String, LabelSelectorError> {
        self.skip_whitespace();
        let (at, value) = self.token();
        validate_label_value(value)
            .map_err(|reason| self.error(at, format!("invalid label value {value:?}: {reason}")))?;
        Ok(value.to_owned())
    }

    fn requirement(&mut self) -> Result<Requirement, LabelSelectorError> {
        self.skip_whitespace();
        if self.eat('!') {
            let key = self.key()?;
            return Ok(Requirement::new_unchecked(key, Op::DoesNotExist, Vec::new()));
        }
        let key = self.key()?;
        self.skip_whitespace();
        let op_at = self.pos;
        let op = match self.peek() {
            None | Some(',') => return Ok(Requirement::new_unchecked(key, Op::Exists, Vec::new())),
            Some('=') => {
                self.eat('=');
                self.eat('=');
                Op::Equals
            }
            Some('!') => {
                self.eat('!');
                if !self.eat('=') {
                    return Err(self.error(self.pos, format!("expected '=' after '!', found {}", self.found())));
                }
                Op::NotEquals
            }
            Some('>') => {
                self.eat('>');
                Op::Gt
            }
            Some('<') => {
                self.eat('<');
                Op::Lt
            }
            Some(_) => match self.token() {
                (_, "in") => Op::In,
                (_, "notin") => Op::NotIn,
                _ => {
                    self.pos = op_at;
                    return Err(self.error(
                        op_at,
                        format!(
                            "expected one of '=', '==', '!=', 'in', 'notin', '>', '<', ',' or the end, found {}",
                            self.found()
                        ),
                    ));
                }
            },
        };
        let values = match op {
            Op::In | Op::NotIn => self.value_set()?,
            Op::Gt | Op::Lt => {
                self.skip_whitespace();
                let found = self.found();
                let (at, value) = self.token();
                if value.parse::<i64>().is_err() {
                    return Err(self.error(at, format!("expected an integer, found {found}")));
                }
                vec![value.to_owned()]
            }
            _ => vec![self.value()?],
        };
        Ok(Requirement::new_unchecked(key, op, values))
    }

    /// `( value [, value]* )`; an empty entry is the empty value, as in Kubernetes.
    fn value_set(&mut self) -> Result<Vec<String>, LabelSelectorError> {
        self.skip_whitespace();
        if !self.eat('(') {
            return Err(self.error(self.pos, format!("expected '(', found {}", self.found())));
        }
        let mut values = Vec::new();
        loop {
            values.push(self.value()?);
            self.skip_whitespace();
            if self.eat(')') {
                return Ok(values);
            }
            if !self.eat(',') {
                return Err(self.error(self.pos, format!("expected ',' or ')', found {}", self.found())));
            }
        }
    }
}

/// Whether `s` is 1..=63 characters `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, the shape of a label
/// value and of a key's name part. Returns the reason when not.
fn check_name_shape(s: &str) -> Result<(), String> {
    if s.len() > 63 {
        return Err(format!("must be no more than 63 characters (is {})", s.len()));
    }
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let body_ok = s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !body_ok || !alnum(s.chars().next()) || !alnum(s.chars().last()) {
        return Err(
            "must consist of letters, digits, '-', '_' or '.', and begin and end with a letter or digit".to_owned()
        );
    }
    Ok(())
}

/// Whether `s` is a DNS-1123 subdomain: at most 253 characters, dot-separated labels of lowercase
/// letters, digits and '-', each starting and ending with a letter or digit.
fn check_dns_subdomain(s: &str) -> Result<(), String> {
    if s.len() > 253 {
        return Err(format!("must be no more than 253 characters (is {})", s.len()));
    }
    let label_ok = |l: &str| {
        let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        edge(l.chars().next())
            && edge(l.chars().last())
            && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if !s.split('.').all(label_ok) {
        return Err("must be a lowercase DNS subdomain such as \"example.com\"".to_owned());
    }
    Ok(())
}

/// Checks a label key: an optional DNS subdomain prefix and `/`, then a name of at most 63
/// characters `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`.
///
/// # Errors
/// The reason the key is invalid.
///
/// ```
/// use orch_core::selector::label::validate_label_key;
/// assert!(validate_label_key("app.kubernetes.io/name").is_ok());
/// assert!(validate_label_key("a b").unwrap_err().contains("letters, digits"));
/// ```
pub fn validate_label_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        None => (None, key),
        Some((prefix, name)) => (Some(prefix), name),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            return Err("prefix part must not be empty".to_owned());
        }
        check_dns_subdomain(prefix).map_err(|r| format!("prefix part {r}"))?;
    }
    if name.is_empty() {
        return Err("name part must not be empty".to_owned());
    }
    if name.contains('/') {
        return Err("must contain at most one '/'".to_owned());
    }
    check_name_shape(name).map_err(|r| format!("name part {r}"))
}

/// Checks a label value: empty, or at most 63 characters `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`.
///
/// # Errors
/// The reason the value is invalid.
///
/// ```
/// use orch_core::selector::label::validate_label_value;
/// assert!(validate_label_value("").is_ok());
/// assert!(validate_label_value("v1.2_beta-3").is_ok());
/// assert!(validate_label_value("-x").is_err());
/// ```
pub fn validate_label_value(value: &str) -> Result<(), String> {
    if value.is_empty() { Ok(()) } else { check_name_shape(value) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn sel(s: &str) -> Selector {
        Selector::parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }

    #[test]
    fn parse_displays_canonically() {
        let cases = [
            ("", ""),
            ("   ", ""),
            ("app=web", "app=web"),
            ("app==web", "app=web"),
            ("app = web", "app=web"),
            ("app=", "app="),
            ("app==", "app="),
            ("app=,b", "app=,b"),
            ("tier!=db", "tier!=db"),
            ("env in (b,a)", "env in (a,b)"),
            ("env in(a , b,a)", "env in (a,b)"),
            ("env notin (c)", "env notin (c)"),
            ("env in ()", "env in ()"),
            ("env in (,a)", "env in (,a)"),
            ("release", "release"),
            ("!legacy", "!legacy"),
            ("! legacy", "!legacy"),
            (
                "app=web,tier!=db,env in (a,b),env notin (c),release,!legacy",
                "app=web,env in (a,b),env notin (c),!legacy,release,tier!=db",
            ),
            ("b=1,a=2", "a=2,b=1"),
            ("a!=x,a=y", "a=y,a!=x"),
            ("replicas>3", "replicas>3"),
            ("replicas < -1", "replicas<-1"),
            ("example.com/app=web", "example.com/app=web"),
            ("in=x", "in=x"),
            ("x in (in,notin)", "x in (in,notin)"),
            ("app=web,app=web", "app=web,app=web"),
        ];
        for (input, want) in cases {
            let parsed = sel(input);
            assert_eq!(parsed.to_string(), want, "display of {input:?}");
            assert_eq!(sel(want), parsed, "{want:?} parses back to the same selector");
        }
    }

    #[test]
    fn parse_builds_the_expected_requirements() {
        let cases: [(&str, &str, Op, &[&str]); 8] = [
            ("a=b", "a", Op::Equals, &["b"]),
            ("a==b", "a", Op::Equals, &["b"]),
            ("a!=b", "a", Op::NotEquals, &["b"]),
            ("a in (y,x)", "a", Op::In, &["x", "y"]),
            ("a notin (x)", "a", Op::NotIn, &["x"]),
            ("a", "a", Op::Exists, &[]),
            ("!a", "a", Op::DoesNotExist, &[]),
            ("a>5", "a", Op::Gt, &["5"]),
        ];
        for (input, key, op, values) in cases {
            let parsed = sel(input);
            let [req] = parsed.requirements() else { panic!("{input:?} gives one requirement") };
            assert_eq!((req.key(), req.op()), (key, op), "{input:?}");
            assert_eq!(req.values(), values, "{input:?}");
        }
    }

    #[test]
    fn matching_follows_kubernetes_semantics() {
        let web_prod = labels(&[("app", "web"), ("env", "prod"), ("replicas", "5")]);
        let none = labels(&[]);
        let cases = [
            ("", &web_prod, true),
            ("", &none, true),
            ("app=web", &web_prod, true),
            ("app=db", &web_prod, false),
            ("app=web", &none, false),
            ("app=", &none, false),
            ("app!=db", &web_prod, true),
            ("app!=web", &web_prod, false),
            ("app!=web", &none, true),
            ("env in (prod,dev)", &web_prod, true),
            ("env in (dev)", &web_prod, false),
            ("env in (prod)", &none, false),
            ("env notin (prod)", &web_prod, false),
            ("env notin (dev)", &web_prod, true),
            ("env notin (prod)", &none, true),
            ("app", &web_prod, true),
            ("app", &none, false),
            ("!app", &web_prod, false),
            ("!app", &none, true),
            ("replicas>4", &web_prod, true),
            ("replicas>5", &web_prod, false),
            ("replicas<6", &web_prod, true),
            ("app>1", &web_prod, false),
            ("replicas>1", &none, false),
            ("app=web,env=prod", &web_prod, true),
            ("app=web,env=dev", &web_prod, false),
        ];
        for (input, set, want) in cases {
            assert_eq!(sel(input).matches(set), want, "{input:?} against {set:?}");
        }
    }

    #[test]
    fn bad_strings_report_positions() {
        let cases = [
            ("=web", 0, "expected a label key, found '='"),
            ("app in a", 7, "expected '(', found \"a\""),
            ("app in (a", 9, "expected ',' or ')', found the end"),
            ("a b", 2, "expected one of"),
            ("app=web extra", 8, "expected ',' or the end, found \"extra\""),
            ("a,", 2, "expected a label key, found the end"),
            (",a", 0, "expected a label key, found ','"),
            ("a!b", 2, "expected '=' after '!'"),
            ("!a=b", 2, "expected ',' or the end, found '='"),
            ("a=b=c", 3, "expected ',' or the end"),
            ("a=(b)", 2, "expected ',' or the end, found '('"),
            ("a in (b c)", 8, "expected ',' or ')'"),
            ("a in ((b))", 6, "expected ',' or ')', found '('"),
            ("a b=c", 2, "expected one of"),
            ("-a=b", 0, "invalid label key \"-a\""),
            ("a=-b", 2, "invalid label value \"-b\""),
            ("/a=b", 0, "prefix part must not be empty"),
            ("Example.com/a", 0, "prefix part must be a lowercase DNS subdomain"),
            ("a/b/c", 0, "at most one '/'"),
            ("a/=b", 0, "name part must not be empty"),
            ("a>b", 2, "expected an integer, found \"b\""),
            ("a>", 2, "expected an integer, found the end"),
            ("a<1.5", 2, "expected an integer"),
            ("a in (x", 7, "expected ',' or ')'"),
            ("café=1", 0, "invalid label key"),
            ("a=ü", 2, "invalid label value"),
            ("a)", 1, "expected one of"),
        ];
        for (input, position, want) in cases {
            match Selector::parse(input) {
                Err(LabelSelectorError::Parse { position: at, message, .. }) => {
                    assert_eq!(at, position, "{input:?}: {message}");
                    assert!(message.contains(want), "{input:?}: {message:?} should contain {want:?}");
                }
                other => panic!("{input:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn long_keys_and_values_are_rejected() {
        let long = "a".repeat(64);
        let ok = "a".repeat(63);
        assert!(Selector::parse(&format!("{ok}={ok}")).is_ok());
        assert!(Selector::parse(&format!("{long}=x")).is_err());
        assert!(Selector::parse(&format!("x={long}")).is_err());
        let prefix = format!("{}.com", "a".repeat(250));
        assert!(validate_label_key(&format!("{prefix}/x")).unwrap_err().contains("253"));
    }

    #[test]
    fn label_key_and_value_validation() {
        let keys = [
            ("app", true),
            ("App_1.x-y", true),
            ("example.com/app", true),
            ("a.b-c.d/e", true),
            ("1", true),
            ("", false),
            ("_a", false),
            ("a_", false),
            ("a b", false),
            ("EXAMPLE.com/a", false),
            ("-a.com/b", false),
            ("a..b/c", false),
            ("a/", false),
            ("/a", false),
        ];
        for (key, ok) in keys {
            assert_eq!(validate_label_key(key).is_ok(), ok, "key {key:?}: {:?}", validate_label_key(key));
        }
        let values =
            [("", true), ("a", true), ("A-b_c.1", true), ("-a", false), ("a.", false), ("a/b", false), ("a b", false)];
        for (value, ok) in values {
            assert_eq!(validate_label_value(value).is_ok(), ok, "value {value:?}");
        }
    }

    #[test]
    fn garbage_never_panics() {
        let corpus = [
            "",
            "!",
            "!!",
            "!!a",
            "=",
            "==",
            "!=",
            "(",
            ")",
            "()",
            ",",
            ",,",
            "in",
            "in (",
            "a in",
            "a in (",
            "a in ()",
            "a in (,)",
            "a notin",
            "a notin (",
            "a=b,",
            "a = = b",
            "a ==b",
            "a!==b",
            "a<>1",
            "a<",
            "a>9223372036854775808",
            "ü",
            "a=ü",
            "\u{0}",
            "a\u{0}=b",
            "a in (b,c",
            "a in b,c)",
            "a in (b)(c)",
            "\t\n",
            "a\t=\tb",
            "((((",
            "a=b c",
        ];
        for input in corpus {
            let result = std::panic::catch_unwind(|| Selector::parse(input));
            let Ok(result) = result else { panic!("{input:?} panicked") };
            if let Ok(parsed) = result {
                assert_eq!(sel(&parsed.to_string()), parsed, "{input:?} round trips");
            }
        }
    }

    #[test]
    fn structured_form_converts_and_matches() {
        let structured = LabelSelector {
            match_labels: labels(&[("app", "web")]),
            match_expressions: vec![
                LabelSelectorRequirement {
                    key: "env".into(),
                    operator: "In".into(),
                    values: vec!["prod".into(), "dev".into()],
                },
                LabelSelectorRequirement { key: "legacy".into(), operator: "DoesNotExist".into(), values: vec![] },
                LabelSelectorRequirement { key: "tier".into(), operator: "Exists".into(), values: vec![] },
                LabelSelectorRequirement { key: "zone".into(), operator: "NotIn".into(), values: vec!["b".into()] },
            ],
        };
        let selector = structured.to_selector().unwrap();
        assert_eq!(selector.to_string(), "app=web,env in (dev,prod),!legacy,tier,zone notin (b)");
        let cases = [
            (labels(&[("app", "web"), ("env", "prod"), ("tier", "fe")]), true),
            (labels(&[("app", "web"), ("env", "prod"), ("tier", "fe"), ("zone", "a")]), true),
            (labels(&[("app", "web"), ("env", "prod"), ("tier", "fe"), ("zone", "b")]), false),
            (labels(&[("app", "web"), ("env", "prod")]), false),
            (labels(&[("app", "web"), ("env", "prod"), ("tier", "fe"), ("legacy", "")]), false),
            (labels(&[("app", "db"), ("env", "prod"), ("tier", "fe")]), false),
        ];
        for (set, want) in cases {
            assert_eq!(structured.matches(&set), Ok(want), "{set:?}");
        }
        assert_eq!(LabelSelector::default().matches(&labels(&[])), Ok(true));
        assert!(LabelSelector::default().is_empty());
        assert!(Selector::try_from(LabelSelector::default()).unwrap().is_empty());
    }

    #[test]
    fn structured_errors_name_the_field() {
        let expr = |key: &str, operator: &str, values: &[&str]| LabelSelectorRequirement {
            key: key.into(),
            operator: operator.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        };
        let ok = expr("a", "Exists", &[]);
        let cases = [
            (vec![ok.clone(), expr("a", "Foo", &[])], "matchExpressions[1].operator: unsupported value \"Foo\""),
            (vec![expr("a", "in", &["x"])], "matchExpressions[0].operator: unsupported value \"in\""),
            (vec![expr("a", "Gt", &["1"])], "matchExpressions[0].operator: unsupported value \"Gt\""),
            (vec![expr("a", "In", &[])], "matchExpressions[0].values: must be specified"),
            (vec![expr("a", "NotIn", &[])], "matchExpressions[0].values: must be specified"),
            (vec![expr("a", "Exists", &["x"])], "matchExpressions[0].values: may not be specified"),
            (vec![expr("a", "DoesNotExist", &["x"])], "matchExpressions[0].values: may not be specified"),
            (vec![expr("a b", "Exists", &[])], "matchExpressions[0].key: invalid label key \"a b\""),
            (vec![ok, expr("a", "In", &["ok", "b ad"])], "matchExpressions[1].values[1]: invalid label value \"b ad\""),
        ];
        for (exprs, want) in cases {
            let structured = LabelSelector { match_labels: BTreeMap::new(), match_expressions: exprs };
            let err = structured.to_selector().unwrap_err().to_string();
            assert!(err.starts_with(want), "{err:?} should start with {want:?}");
            assert!(structured.matches(&labels(&[])).is_err());
        }
        let bad_labels = [
            (labels(&[("a b", "x")]), "matchLabels: invalid label key \"a b\""),
            (labels(&[("app", "x y")]), "matchLabels[app]: invalid label value \"x y\""),
        ];
        for (match_labels, want) in bad_labels {
            let err = LabelSelector { match_labels, match_expressions: vec![] }.to_selector().unwrap_err().to_string();
            assert!(err.starts_with(want), "{err:?} should start with {want:?}");
        }
    }

    #[test]
    fn requirements_built_in_code_are_validated() {
        let cases: [(&str, Op, &[&str], bool); 10] = [
            ("a", Op::Equals, &["x"], true),
            ("a", Op::Equals, &[], false),
            ("a", Op::Equals, &["x", "y"], false),
            ("a", Op::In, &["x", "y"], true),
            ("a", Op::In, &[], false),
            ("a", Op::Exists, &[], true),
            ("a", Op::Exists, &["x"], false),
            ("a", Op::Gt, &["7"], true),
            ("a", Op::Lt, &["seven"], false),
            ("bad key", Op::Exists, &[], false),
        ];
        for (key, op, values, ok) in cases {
            assert_eq!(Requirement::new(key, op, values.iter().copied()).is_ok(), ok, "{key:?} {op:?} {values:?}");
        }
        let built = Selector::new([
            Requirement::new("b", Op::Exists, Vec::<String>::new()).unwrap(),
            Requirement::new("a", Op::In, ["y", "x", "y"]).unwrap(),
        ]);
        assert_eq!(built.to_string(), "a in (x,y),b");
        assert_eq!(Selector::from_labels(&labels(&[("z", "1"), ("a", "2")])).unwrap().to_string(), "a=2,z=1");
        assert!(Selector::from_labels(&labels(&[("a", "-")])).is_err());
        assert_eq!("app=web".parse::<Selector>().unwrap(), sel("app==web"));
    }
}
