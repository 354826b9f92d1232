//! Entity tags on the wire (RFC 9110 §8.8.3 and §13.1): the `ETag` of an answer, and
//! the `If-Match` / `If-None-Match` preconditions of a request. Tags are handed to
//! the application as their opaque text, without quotes.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::problem::{ApiError, Problem};

/// `If-Match`: `None` when absent, else the strong tags it lists. Weak tags are
/// dropped: `If-Match` compares strongly, so they can never match (RFC 9110 §13.1.1).
/// `*` is refused with 400: every resource exists by the time its precondition is
/// checked, so `*` would protect nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfMatch(pub Option<Vec<String>>);

/// `If-None-Match` on a read, compared weakly as RFC 9110 §13.1.2 asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfNoneMatch {
    Absent,
    Any,
    Tags(Vec<String>),
}

impl IfNoneMatch {
    /// Whether the client already holds the representation tagged `current`.
    #[must_use]
    pub fn holds(&self, current: &str) -> bool {
        match self {
            Self::Absent => false,
            Self::Any => true,
            Self::Tags(tags) => tags.iter().any(|tag| tag == current),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Tag<'a> {
    opaque: &'a str,
    weak: bool,
}

#[derive(Debug, PartialEq, Eq)]
enum TagList<'a> {
    Any,
    Tags(Vec<Tag<'a>>),
}

/// Parses `"*"` or a comma-separated list of entity tags, all of every header line;
/// `None` when anything in it is not an entity tag.
fn parse_tag_lists<'a>(values: impl Iterator<Item = &'a HeaderValue>) -> Option<TagList<'a>> {
    let mut tags = Vec::new();
    let mut any = false;
    for value in values {
        let text = value.to_str().ok()?;
        if text.trim() == "*" {
            any = true;
            continue;
        }
        let mut rest = text;
        loop {
            rest = rest.trim_start_matches([' ', '\t']);
            let (weak, quoted) = match rest.strip_prefix("W/") {
                Some(quoted) => (true, quoted),
                None => (false, rest),
            };
            let inner = quoted.strip_prefix('"')?;
            let end = inner.find('"')?;
            let opaque = &inner[..end];
            // etagc: visible ASCII but the quote (obs-text is refused: nothing here sends it).
            if !opaque.bytes().all(|byte| byte == 0x21 || (0x23..=0x7e).contains(&byte)) {
                return None;
            }
            tags.push(Tag { opaque, weak });
            rest = inner[end + 1..].trim_start_matches([' ', '\t']);
            if rest.is_empty() {
                break;
            }
            rest = rest.strip_prefix(',')?;
        }
    }
    match (any, tags.is_empty()) {
        (true, true) => Some(TagList::Any),
        // `*` is a whole field value: mixed with tags, the header is malformed.
        (true, false) => None,
        (false, _) => Some(TagList::Tags(tags)),
    }
}

fn malformed(name: &HeaderName) -> ApiError {
    Problem::typed(
        StatusCode::BAD_REQUEST,
        "malformed-precondition",
        format!("{name} must be a comma-separated list of entity tags, such as \"p3\" or W/\"p3\""),
    )
    .into()
}

fn read<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Result<Option<TagList<'a>>, ApiError> {
    let mut values = headers.get_all(name).iter().peekable();
    if values.peek().is_none() {
        return Ok(None);
    }
    parse_tag_lists(values).map(Some).ok_or_else(|| malformed(name))
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match read(&parts.headers, &header::IF_MATCH)? {
            None => Ok(Self(None)),
            Some(TagList::Any) => Err(Problem::typed(
                StatusCode::BAD_REQUEST,
                "unsupported-precondition",
                "If-Match: * is not supported: send the ETag of the representation you read",
            )
            .into()),
            Some(TagList::Tags(tags)) => {
                Ok(Self(Some(tags.into_iter().filter(|tag| !tag.weak).map(|tag| tag.opaque.to_owned()).collect())))
            }
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfNoneMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(match read(&parts.headers, &header::IF_NONE_MATCH)? {
            None => Self::Absent,
            Some(TagList::Any) => Self::Any,
            Some(TagList::Tags(tags)) => Self::Tags(tags.into_iter().map(|tag| tag.opaque.to_owned()).collect()),
        })
    }
}

/// Sets the strong `ETag` of the representation in `response`.
#[must_use]
pub fn with_entity_tag(mut response: Response, opaque: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(&format!("\"{opaque}\"")) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// 304: the client's copy, tagged `opaque`, is current.
#[must_use]
pub fn not_modified(opaque: &str) -> Response {
    with_entity_tag(StatusCode::NOT_MODIFIED.into_response(), opaque)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(values: &[&'static str]) -> Option<TagList<'static>> {
        let values: Vec<HeaderValue> = values.iter().map(|value| HeaderValue::from_static(value)).collect();
        let values: &'static [HeaderValue] = Box::leak(values.into_boxed_slice());
        parse_tag_lists(values.iter())
    }

    fn strong(opaque: &str) -> Tag<'_> {
        Tag { opaque, weak: false }
    }

    #[test]
    fn a_list_of_strong_and_weak_tags_over_several_lines_is_read_in_order() {
        assert_eq!(
            parse(&["\"p1\", W/\"p2\"", "\"\",\"t3-open\""]),
            Some(TagList::Tags(vec![strong("p1"), Tag { opaque: "p2", weak: true }, strong(""), strong("t3-open")]))
        );
    }

    #[test]
    fn a_star_alone_is_any_and_mixed_with_tags_is_malformed() {
        assert_eq!(parse(&["*"]), Some(TagList::Any));
        assert_eq!(parse(&[" * "]), Some(TagList::Any));
        assert_eq!(parse(&["*", "\"p1\""]), None);
    }

    #[test]
    fn anything_but_quoted_tags_separated_by_commas_is_malformed() {
        for bad in [
            "p1",
            "\"p1",
            "\"p1\" \"p2\"",
            "\"p1\",",
            ",\"p1\"",
            "w/\"p1\"",
            "\"p 1\"",
            "\"p1\";x",
            "",
            "\"p1\",,\"p2\"",
        ] {
            assert_eq!(parse(&[bad]), None, "{bad:?}");
        }
    }

    #[test]
    fn a_value_that_is_not_visible_ascii_is_malformed() {
        let value = HeaderValue::from_bytes("\"caf\u{e9}\"".as_bytes()).unwrap();
        assert_eq!(parse_tag_lists(std::iter::once(&value)), None);
    }

    #[tokio::test]
    async fn if_match_keeps_only_strong_tags_and_refuses_a_star() {
        let extract = |value: &'static str| async move {
            let (mut parts, ()) =
                axum::http::Request::builder().header(header::IF_MATCH, value).body(()).unwrap().into_parts();
            IfMatch::from_request_parts(&mut parts, &()).await
        };
        assert_eq!(extract("W/\"p1\", \"p2\"").await.unwrap(), IfMatch(Some(vec!["p2".to_owned()])));
        assert_eq!(extract("W/\"p1\"").await.unwrap(), IfMatch(Some(vec![])));
        assert_eq!(extract("*").await.unwrap_err().problem().status, 400);
        assert_eq!(extract("p1").await.unwrap_err().problem().status, 400);
    }

    #[test]
    fn if_none_match_compares_weakly_and_a_star_holds_everything() {
        assert!(IfNoneMatch::Tags(vec!["p1".into()]).holds("p1"));
        assert!(!IfNoneMatch::Tags(vec!["p1".into()]).holds("p2"));
        assert!(IfNoneMatch::Any.holds("p2"));
        assert!(!IfNoneMatch::Absent.holds("p2"));
    }

    #[test]
    fn an_answer_carries_its_tag_quoted() {
        let response = not_modified("t2-open");
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(response.headers()[header::ETAG], "\"t2-open\"");
    }
}
