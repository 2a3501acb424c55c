//! The harness gives a real broker, and a raw ApiVersions exchange (kafka-protocol codecs, no
//! kaflow-client) shows it speaks the Kafka 4 protocol we build on.

use kafka_protocol::messages::ApiKey;
use kaflow_test_support::{require_kafka, wire::RawConnection};

#[tokio::test]
async fn broker_answers_api_versions_with_produce_and_fetch() {
    let kafka = require_kafka!();
    let mut conn = RawConnection::connect(kafka.first_addr()).await.expect("connect");
    let resp = conn.api_versions().await.expect("ApiVersions");
    assert_eq!(resp.error_code, 0, "ApiVersions error code");

    let range = |key: ApiKey| {
        resp.api_keys
            .iter()
            .find(|k| k.api_key == key as i16)
            .map(|k| (k.min_version, k.max_version))
            .unwrap_or_else(|| panic!("{key:?} missing from ApiVersions"))
    };
    let (pmin, pmax) = range(ApiKey::Produce);
    let (fmin, fmax) = range(ApiKey::Fetch);
    eprintln!("broker: Produce v{pmin}..=v{pmax}, Fetch v{fmin}..=v{fmax}");
    // Kafka 4 serves Produce v3+ (KIP-896) though it still advertises v0 for librdkafka's sake
    // (KAFKA-18659), and Fetch from v4; both reach far past the 2.1 baseline.
    assert!(pmin <= 3 && pmax >= 12, "Produce {pmin}..{pmax}");
    assert!(fmin <= 4 && fmax >= 17, "Fetch {fmin}..{fmax}");
    // Our codec and the broker overlap for both, so kaflow can negotiate a version.
    assert!(kaflow_client::versions::negotiate(ApiKey::Produce, pmin, pmax).is_some());
    assert!(kaflow_client::versions::negotiate(ApiKey::Fetch, fmin, fmax).is_some());
    // The broker tells us its finalized metadata version: a KRaft cluster.
    assert!(
        resp.finalized_features
            .iter()
            .any(|f| f.name.as_str() == "metadata.version"),
        "finalized features: {:?}",
        resp.finalized_features
    );
}
