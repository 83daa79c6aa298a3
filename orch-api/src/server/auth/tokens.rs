//! Bearer tokens from a static token file, in Kubernetes' CSV format.

use std::collections::HashMap;
use std::path::Path;

use axum::http::{HeaderMap, header};

use super::{Authenticator, UserInfo};

/// A malformed token file.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The file could not be read.
    #[error("reading token file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A line lacks the token or user name.
    #[error("token file line {line}: expected `token,user[,uid[,\"group1,group2\"]]`")]
    Malformed {
        /// 1-based line number.
        line: usize,
    },
}

/// Tokens and the users they stand for: one line each, `token,user,uid,"group1,group2"` (uid and
/// groups optional), as kube-apiserver's `--token-auth-file`.
#[derive(Clone, Debug, Default)]
pub struct TokenFile {
    tokens: HashMap<String, UserInfo>,
}

impl TokenFile {
    /// Parses the file's text; blank lines and lines starting with `#` are skipped.
    ///
    /// # Errors
    /// `Malformed` naming the line.
    pub fn parse(text: &str) -> Result<Self, TokenError> {
        let mut tokens = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields = split_csv(line);
            let (Some(token), Some(user)) = (fields.first(), fields.get(1)) else {
                return Err(TokenError::Malformed { line: i + 1 });
            };
            if token.is_empty() || user.is_empty() {
                return Err(TokenError::Malformed { line: i + 1 });
            }
            let groups = fields
                .get(3)
                .map(|g| g.split(',').map(str::trim).filter(|g| !g.is_empty()).map(str::to_string).collect())
                .unwrap_or_default();
            tokens.insert(token.clone(), UserInfo { name: user.clone(), groups });
        }
        Ok(TokenFile { tokens })
    }

    /// Reads and parses a token file.
    ///
    /// # Errors
    /// `Read` or `Malformed`.
    pub fn load(path: &Path) -> Result<Self, TokenError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| TokenError::Read { path: path.display().to_string(), source })?;
        Self::parse(&text)
    }

    /// Adds a token (for programs that make their own identities, such as the cluster example).
    pub fn with_token(mut self, token: impl Into<String>, user: UserInfo) -> Self {
        self.tokens.insert(token.into(), user);
        self
    }
}

impl Authenticator for TokenFile {
    fn authenticate(&self, headers: &HeaderMap) -> Result<Option<UserInfo>, String> {
        let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(None) };
        let value = value.to_str().map_err(|_| "the Authorization header is not text".to_string())?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| "only bearer tokens are accepted".to_string())?
            .trim();
        self.tokens.get(token).cloned().map(Some).ok_or_else(|| "invalid bearer token".to_string())
    }
}

/// Splits one CSV line, honouring double quotes.
fn split_csv(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            c => {
                if let Some(field) = out.last_mut() {
                    field.push(c);
                }
            }
        }
    }
    out.into_iter().map(|s| s.trim().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        h
    }

    #[test]
    fn known_token_is_its_user_unknown_is_an_error_none_is_anonymous() {
        let f = TokenFile::parse("# admins\nt1,admin,0,system:masters\n\nt2,bob\n").unwrap();
        assert_eq!(f.authenticate(&bearer("t1")).unwrap().unwrap().groups, ["system:masters"]);
        assert_eq!(f.authenticate(&bearer("t2")).unwrap().unwrap().name, "bob");
        assert!(f.authenticate(&bearer("nope")).is_err());
        assert_eq!(f.authenticate(&HeaderMap::new()).unwrap(), None);
    }

    #[test]
    fn malformed_line_is_named() {
        let err = TokenFile::parse("t1,admin\nonly-a-token\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
