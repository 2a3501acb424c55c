//! HTTP Basic authentication for the REST API (what Connect's
//! `BasicAuthSecurityRestExtension` does with a `PropertyFileLoginModule` credentials file).
//! The credentials file holds `user=password` lines; a request without valid credentials gets
//! 401 and is logged by user name and path only, never with the password.

use crate::config::files::load_properties;
use crate::convert::json::node::base64_decode;
use std::collections::BTreeMap;
use std::path::Path;

/// The users allowed in, from the credentials file.
#[derive(Clone)]
pub struct BasicAuth {
    users: BTreeMap<String, String>,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the passwords.
        f.debug_struct("BasicAuth")
            .field("users", &self.users.keys())
            .finish()
    }
}

/// Why a request was refused (the 401 message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Basic ...` header.
    #[error("Credentials are required: send an Authorization: Basic header")]
    Missing,
    /// The header isn't `Basic base64(user:password)`.
    #[error("The Authorization header is not valid HTTP Basic credentials")]
    Malformed,
    /// Unknown user or wrong password.
    #[error("User {0} cannot access the resource")]
    Denied(String),
}

impl BasicAuth {
    /// Reads the credentials file (properties syntax: `user=password` or `user: password`).
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let users = load_properties(path).map_err(|e| format!("rest.basic.auth.credentials.file: {e}"))?;
        if users.is_empty() {
            return Err(format!(
                "rest.basic.auth.credentials.file: {} has no user",
                path.display()
            ));
        }
        Ok(Self { users })
    }

    /// Checks an `Authorization` header; the user name when it may pass.
    pub fn check(&self, header: Option<&[u8]>) -> Result<String, AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        let header = std::str::from_utf8(header).map_err(|_| AuthError::Malformed)?;
        let (scheme, encoded) = header.trim().split_once(' ').ok_or(AuthError::Malformed)?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(AuthError::Malformed);
        }
        let decoded = base64_decode(encoded.trim()).ok_or(AuthError::Malformed)?;
        let decoded = String::from_utf8(decoded).map_err(|_| AuthError::Malformed)?;
        let (user, password) = decoded.split_once(':').ok_or(AuthError::Malformed)?;
        match self.users.get(user) {
            Some(p) if constant_time_eq(p.as_bytes(), password.as_bytes()) => Ok(user.to_string()),
            _ => Err(AuthError::Denied(user.to_string())),
        }
    }
}

/// Compares without stopping at the first difference (no timing hint of a password prefix).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> BasicAuth {
        BasicAuth {
            users: BTreeMap::from([("admin".to_string(), "s3cret".to_string())]),
        }
    }

    #[test]
    fn checks_credentials() {
        let a = auth();
        assert_eq!(a.check(Some(b"Basic YWRtaW46czNjcmV0")), Ok("admin".to_string()));
        // admin:wrong
        assert_eq!(
            a.check(Some(b"Basic YWRtaW46d3Jvbmc=")),
            Err(AuthError::Denied("admin".into()))
        );
        assert_eq!(a.check(None), Err(AuthError::Missing));
        assert_eq!(a.check(Some(b"Bearer xyz")), Err(AuthError::Malformed));
        assert_eq!(a.check(Some(b"Basic !!!")), Err(AuthError::Malformed));
        assert!(!format!("{a:?}").contains("s3cret"));
    }
}
