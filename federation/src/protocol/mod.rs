//! Wire types: what the JSON on the network looks like, one file per type.

pub mod actor;
pub mod attachment;
pub mod attestation;
pub mod collection;
pub mod nodeinfo;
pub mod post;

/// The JSON-LD context Hearth puts on every document it serves.
pub fn context() -> serde_json::Value {
    serde_json::json!([
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "Hashtag": "as:Hashtag",
            "toot": "http://joinmastodon.org/ns#",
            "discoverable": "toot:discoverable",
            "suspended": "toot:suspended",
            "blurhash": "toot:blurhash",
            "focalPoint": { "@container": "@list", "@id": "toot:focalPoint" },
            "schema": "http://schema.org#",
            "PropertyValue": "schema:PropertyValue",
            "value": "schema:value",
            "hearth": "https://w3id.org/hearth/ns#",
            "clinicianAttestation": "hearth:clinicianAttestation",
            "ClinicianAttestation": "hearth:ClinicianAttestation"
        }
    ])
}

/// `host[:port]` of a URL in canonical form: lower-case, no trailing dot, no default port.
pub fn authority(url: &url::Url) -> String {
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

/// `url` with its host in canonical form, as ids are compared and stored: without a trailing
/// dot. (The `url` crate already lower-cases hosts, maps IDNA spellings such as full-width
/// letters to their ASCII or punycode form, and drops default ports.)
pub fn canonical(mut url: url::Url) -> url::Url {
    let trimmed = url
        .host_str()
        .filter(|h| h.ends_with('.'))
        .map(|h| h.trim_end_matches('.').to_owned());
    if let Some(host) = trimmed.filter(|h| !h.is_empty()) {
        // Only a domain can end with a dot, so setting the trimmed domain cannot fail; if it
        // did, the URL would stay as it was and fail comparisons, which is safe.
        let _ = url.set_host(Some(&host));
    }
    url
}

/// Whether two URLs are on the same server: same scheme, host and port. (The federation
/// crate's `verify_domains_match` ignores ports, which lets one loopback instance speak for
/// another.)
pub fn same_origin(a: &url::Url, b: &url::Url) -> bool {
    a.scheme() == b.scheme()
        && authority(a) == authority(b)
        && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn hosts_are_canonical_whatever_their_spelling() {
        for spelling in [
            "https://a.example./x",
            "https://A.EXAMPLE/x",
            "https://a.example:443/x",
            "https://\u{ff41}.example/x",
        ] {
            assert_eq!(canonical(url(spelling)).as_str(), "https://a.example/x");
        }
        assert_eq!(
            canonical(url("http://localhost.:8080/x")).as_str(),
            "http://localhost:8080/x"
        );
        assert_eq!(
            canonical(url("https://b\u{fc}cher.example/")).as_str(),
            "https://xn--bcher-kva.example/"
        );
    }

    #[test]
    fn origins_compare_host_port_and_scheme() {
        assert!(same_origin(
            &url("https://a.example/x"),
            &url("https://A.EXAMPLE./y")
        ));
        assert!(same_origin(
            &url("https://a.example:443/x"),
            &url("https://a.example/y")
        ));
        assert!(!same_origin(
            &url("http://localhost:1/x"),
            &url("http://localhost:2/x")
        ));
        assert!(!same_origin(
            &url("https://a.example/x"),
            &url("https://b.a.example/x")
        ));
        assert!(!same_origin(
            &url("http://a.example/x"),
            &url("https://a.example/x")
        ));
    }
}
