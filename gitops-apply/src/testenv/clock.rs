//! The server's clock, as Kubernetes prints times in objects: RFC 3339 in UTC, to the second.

/// The current time, as `metav1.Time` is serialized.
pub(crate) fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}
