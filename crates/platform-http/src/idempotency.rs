//! `Idempotency-Key` on creating requests: the header, the claim a request holds while
//! it runs, and the answers built from (and replayed out of) a recorded answer, so the
//! first answer and every replay are the same bytes.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use taskdeck_kernel::{IdempotencyClaim, IdempotencyKey, RecordedAnswer, StoreError};
use taskdeck_platform::{ClaimOutcome, Idempotency};

use crate::problem::{ApiError, Problem};

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// Marks an answer that was replayed from the record rather than produced again.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The request's `Idempotency-Key`, if it sent one. A malformed key is 400, before
/// anything is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKeyHeader(pub Option<IdempotencyKey>);

fn invalid_key(reason: &str) -> ApiError {
    Problem::typed(
        StatusCode::BAD_REQUEST,
        "invalid-idempotency-key",
        format!("Idempotency-Key must be 1 to 255 visible ASCII characters and sent once: {reason}"),
    )
    .into()
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKeyHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut values = parts.headers.get_all(&IDEMPOTENCY_KEY).iter();
        let Some(value) = values.next() else { return Ok(Self(None)) };
        if values.next().is_some() {
            return Err(invalid_key("it was sent more than once"));
        }
        let text = value.to_str().map_err(|_| invalid_key("it holds bytes outside visible ASCII"))?;
        IdempotencyKey::parse(text).map(|key| Self(Some(key))).map_err(|error| invalid_key(&error.to_string()))
    }
}

/// The claim a creating request holds on its key, handed to [`settle`] with the
/// outcome. Dropped unsettled (its client went away mid-request), it is released in
/// the background, so a retry need not wait for the lease to run out.
#[derive(Debug)]
pub struct HeldClaim {
    claim: IdempotencyClaim,
    idempotency: Idempotency,
    recorded: bool,
}

impl HeldClaim {
    #[must_use]
    pub fn claim(&self) -> &IdempotencyClaim {
        &self.claim
    }
}

impl Drop for HeldClaim {
    fn drop(&mut self) {
        if self.recorded {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let (claim, idempotency) = (self.claim.clone(), self.idempotency.clone());
        runtime.spawn(async move {
            if let Err(error) = idempotency.release(&claim).await {
                tracing::warn!(%error, "cannot release an idempotency key; it frees itself when its lease ends");
            }
        });
    }
}

/// Settles the claim of a creating request with its `outcome`: a success recorded its
/// answer, so the key stays taken; a failure gives the key up before the answer is
/// sent, so a retry that follows the refusal finds it free.
///
/// # Errors
/// `outcome`'s error, unchanged.
pub async fn settle<T, E>(claim: Option<HeldClaim>, outcome: Result<T, E>) -> Result<T, E> {
    if let Some(mut held) = claim {
        held.recorded = true;
        if outcome.is_err()
            && let Err(error) = held.idempotency.release(&held.claim).await
        {
            tracing::warn!(%error, "cannot release an idempotency key; it frees itself when its lease ends");
        }
    }
    outcome
}

/// How a creating request goes on.
#[derive(Debug)]
pub enum Creation {
    /// Perform the effect; with a claim, record the answer with it.
    Proceed(Option<HeldClaim>),
    /// The same request was answered before: send this.
    Replay(Response),
}

/// Claims `key` of `caller` for the request made of `method`, `path` and `body`, or
/// answers from what the key already stands for.
///
/// # Errors
/// 409 while the same request is still running, 422 when the key was used with
/// another request, 500 on a storage failure.
pub async fn begin_creation(
    idempotency: &Idempotency,
    caller: &str,
    key: Option<IdempotencyKey>,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<Creation, ApiError> {
    let Some(key) = key else { return Ok(Creation::Proceed(None)) };
    let fingerprint = idempotency.fingerprint(&[method.as_bytes(), path.as_bytes(), body]);
    let outcome = match idempotency.claim(caller, &key, &fingerprint).await {
        Ok(outcome) => outcome,
        // Other requests kept changing the key while this one looked: it is in use.
        Err(StoreError::Conflict) => ClaimOutcome::InProgress,
        Err(error) => return Err(ApiError::internal(&error)),
    };
    match outcome {
        ClaimOutcome::Claimed(claim) => {
            Ok(Creation::Proceed(Some(HeldClaim { claim, idempotency: idempotency.clone(), recorded: false })))
        }
        ClaimOutcome::Replay(answer) => {
            let mut response = answer_response(&answer);
            response.headers_mut().insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
            Ok(Creation::Replay(response))
        }
        ClaimOutcome::InProgress => Err(Problem::typed(
            StatusCode::CONFLICT,
            "idempotency-key-in-use",
            "A request with this Idempotency-Key is still being processed; retry once it has been answered",
        )
        .into()),
        ClaimOutcome::OtherRequest => Err(Problem::typed(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency-key-reused",
            "This Idempotency-Key was used in the last 24 hours for another request (another route or body)",
        )
        .into()),
    }
}

/// The answer a creating route records and sends: a JSON body with its status and
/// the `Location` and `ETag` of the created resource.
#[must_use]
pub fn created_answer(location: String, entity_tag: Option<String>, body: &impl serde::Serialize) -> RecordedAnswer {
    RecordedAnswer {
        status: StatusCode::CREATED.as_u16(),
        location: Some(location),
        entity_tag,
        body: serde_json::to_vec(body).unwrap_or_default(),
    }
}

/// The HTTP answer of a recorded answer.
#[must_use]
pub fn answer_response(answer: &RecordedAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, answer.body.clone()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(location) = answer.location.as_deref().and_then(|location| HeaderValue::from_str(location).ok()) {
        headers.insert(header::LOCATION, location);
    }
    if let Some(tag) = answer.entity_tag.as_deref().and_then(|tag| HeaderValue::from_str(&format!("\"{tag}\"")).ok()) {
        headers.insert(header::ETAG, tag);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn extract(values: &[&'static [u8]]) -> Result<IdempotencyKeyHeader, ApiError> {
        let mut builder = axum::http::Request::builder();
        for value in values {
            builder = builder.header(&IDEMPOTENCY_KEY, HeaderValue::from_bytes(value).unwrap());
        }
        let (mut parts, ()) = builder.body(()).unwrap().into_parts();
        IdempotencyKeyHeader::from_request_parts(&mut parts, &()).await
    }

    #[tokio::test]
    async fn a_key_is_optional_and_read_as_sent() {
        assert_eq!(extract(&[]).await.unwrap(), IdempotencyKeyHeader(None));
        let key = extract(&[b"retry-7f3a"]).await.unwrap().0.unwrap();
        assert_eq!(key.as_str(), "retry-7f3a");
    }

    #[tokio::test]
    async fn an_empty_long_repeated_or_invisible_key_is_400() {
        let long = "k".repeat(256).into_bytes().leak();
        for values in [&[&b""[..]][..], &[long], &[b"a", b"b"], &[b"with space"], &[b"tab\tkey"], &[b"caf\xc3\xa9"]] {
            let error = extract(values).await.unwrap_err();
            assert_eq!(error.problem().status, 400, "{values:?}");
            assert_eq!(error.problem().problem_type, "urn:taskdeck:problem:invalid-idempotency-key");
        }
    }

    #[test]
    fn a_recorded_answer_is_sent_with_its_status_body_location_and_tag() {
        let answer = created_answer("/api/projects/3".into(), Some("p1".into()), &serde_json::json!({"id": 3}));
        let response = answer_response(&answer);
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()[header::LOCATION], "/api/projects/3");
        assert_eq!(response.headers()[header::ETAG], "\"p1\"");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(answer.body, br#"{"id":3}"#);
    }
}
