//! The W3C trace context a request arrived with (`traceparent`), kept for the length of
//! the request so that what the request records (its events) can carry it on, and the
//! work those events cause later can log the same trace id.

use std::future::Future;

/// A valid `traceparent` header value (W3C Trace Context): version, trace id, parent
/// id and flags, e.g. `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent(String);

/// The length of a version-00 `traceparent`; later versions may append fields after it.
const LENGTH: usize = 55;

impl TraceParent {
    /// The header value, if it is one the recommendation says to accept: lower-case
    /// hex fields of the right lengths, a version other than `ff`, and a trace id and
    /// parent id that are not all zeros. A later version's extra fields are dropped.
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        let bytes = value.as_bytes();
        if !value.is_ascii()
            || bytes.len() < LENGTH
            || (bytes.len() > LENGTH && (value.starts_with("00") || bytes[LENGTH] != b'-'))
        {
            return None;
        }
        let head = &value[..LENGTH];
        let mut fields = head.split('-');
        let (Some(version), Some(trace_id), Some(parent_id), Some(flags), None) =
            (fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return None;
        };
        let hex = |field: &str, length: usize| {
            field.len() == length && field.bytes().all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
        };
        let zeros = |field: &str| field.bytes().all(|byte| byte == b'0');
        let valid = hex(version, 2)
            && version != "ff"
            && hex(trace_id, 32)
            && !zeros(trace_id)
            && hex(parent_id, 16)
            && !zeros(parent_id)
            && hex(flags, 2);
        valid.then(|| Self(head.to_owned()))
    }

    /// The 32 hex digits naming the whole trace.
    #[must_use]
    pub fn trace_id(&self) -> &str {
        &self.0[3..35]
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TraceParent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

tokio::task_local! {
    static CURRENT: Option<TraceParent>;
}

/// Runs `work` with `trace` as the current trace context.
pub async fn within<F: Future>(trace: Option<TraceParent>, work: F) -> F::Output {
    CURRENT.scope(trace, work).await
}

/// The trace context of the request being served on this task, if it came with one.
#[must_use]
pub fn current() -> Option<TraceParent> {
    CURRENT.try_with(Clone::clone).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_version_00_header_parses_and_names_its_trace() {
        let trace = TraceParent::parse(EXAMPLE).expect("valid");
        assert_eq!(trace.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(trace.as_str(), EXAMPLE);
    }

    #[test]
    fn malformed_headers_are_ignored() {
        for value in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
            "é0-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::parse(value), None, "{value:?}");
        }
    }

    #[test]
    fn a_later_version_keeps_the_fields_this_one_knows() {
        let value = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future";
        assert_eq!(TraceParent::parse(value).expect("valid").as_str(), &value[..LENGTH]);
        assert_eq!(TraceParent::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x"), None);
    }

    #[tokio::test]
    async fn the_current_trace_is_the_one_of_the_enclosing_request() {
        assert_eq!(current(), None, "outside any request");
        let trace = TraceParent::parse(EXAMPLE);
        let seen = within(trace.clone(), async { current() }).await;
        assert_eq!(seen, trace);
        assert_eq!(within(None, async { current() }).await, None);
    }
}
