//! ApiVersions (key 18).
//!
//! Advertises, for each API this fake implements, the version range kafka-protocol can encode
//! and decode (its floors already match Kafka 4's KIP-896 removals; Produce starts at 3). A
//! request newer than we support is answered by conn.rs with [`unsupported_version`], framed as
//! v0 (KIP-511). v3+ client software name and version are validated like Kafka does
//! (INVALID_REQUEST when they do not match `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?`).
//!
//! Deviation: no supported/finalized features are reported (a Kafka 4 broker lists
//! metadata.version, kraft.version, ...).

use kafka_protocol::messages::api_versions_request::ApiVersionsRequest;
use kafka_protocol::messages::api_versions_response::{ApiVersion, ApiVersionsResponse};
use kafka_protocol::messages::ApiKey;

use super::{code, max_version, min_version, IMPLEMENTED};

pub(crate) fn handle(version: i16, req: &ApiVersionsRequest) -> ApiVersionsResponse {
    if version >= 3
        && !(valid_software(req.client_software_name.as_str())
            && valid_software(req.client_software_version.as_str()))
    {
        return ApiVersionsResponse::default().with_error_code(code::INVALID_REQUEST);
    }
    let api_keys = IMPLEMENTED
        .iter()
        .filter_map(|&k| {
            Some(
                ApiVersion::default()
                    .with_api_key(k as i16)
                    .with_min_version(min_version(k))
                    .with_max_version(max_version(k)?),
            )
        })
        .collect();
    ApiVersionsResponse::default().with_api_keys(api_keys)
}

/// The KIP-511 answer to an ApiVersions request of a version we do not know: UNSUPPORTED_VERSION
/// plus our ApiVersions range, to be encoded as v0.
pub(crate) fn unsupported_version() -> ApiVersionsResponse {
    let k = ApiKey::ApiVersions;
    ApiVersionsResponse::default()
        .with_error_code(code::UNSUPPORTED_VERSION)
        .with_api_keys(vec![ApiVersion::default()
            .with_api_key(k as i16)
            .with_min_version(min_version(k))
            .with_max_version(max_version(k).unwrap_or(0))])
}

/// Kafka's `ApiVersionsRequest.isValid` pattern for client software name and version.
fn valid_software(s: &str) -> bool {
    let b = s.as_bytes();
    let edge = |c: &u8| c.is_ascii_alphanumeric();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => {
            edge(f)
                && edge(l)
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'.')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::valid_software;

    #[test]
    fn software_name_pattern() {
        assert!(valid_software("kaflow"));
        assert!(valid_software("a"));
        assert!(valid_software("0.1.0-dev"));
        assert!(!valid_software(""));
        assert!(!valid_software("-x"));
        assert!(!valid_software("x."));
        assert!(!valid_software("a b"));
    }
}
