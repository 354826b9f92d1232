//! The OpenAPI document: what the API says of itself, around the operations every
//! route registered with its handler.

use taskdeck_platform_http::{FieldError, Problem};
use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{
    Flow, Http, HttpAuthScheme, OAuth2, Password, Scopes, SecurityRequirement, SecurityScheme,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "taskdeck",
        description = "Task management HTTP API: users, projects and tasks.\n\n\
            Authenticate with `POST /api/users/login`, then send `Authorization: Bearer <access_token>`. \
            Every error is an RFC 9457 problem document (`application/problem+json`); validation errors (422) \
            list the invalid fields in `errors`. Only the owner ever sees a project: other users' projects \
            answer 404, exactly like projects that do not exist. Request bodies are limited to 64 KiB (413). \
            A path id that is not a positive integer names no resource (404). Timestamps are RFC 3339 in UTC \
            with microsecond precision when they have it.\n\n\
            A login opens a session and answers an access token (a JWT naming the session in `sid`, valid 15 \
            minutes by default) and a refresh token (opaque, valid 30 days by default). Trade the refresh token \
            at the same endpoint (`grant_type=refresh_token`) for new tokens before the access token expires: \
            every refresh answers a new refresh token and spends the old one, and presenting a spent one again \
            ends the whole session (a stolen copy is useless once either party refreshes). Logging out, ending a \
            session from the session list, or anything that revokes a session makes its tokens answer 401 at \
            once on the instance that did it and within 2 seconds on every other instance of one database.\n\n\
            Lists page: `GET /api/projects` and `GET /api/projects/{id}/tasks` answer at most `limit` items \
            (1 to 500, default 100) and, when more follow, `nextCursor` and a `Link: <URL>; rel=\"next\"` header \
            whose URL continues the list. Pages are positioned after the last item seen (never by offset), so a \
            walk through every page returns each item that existed when it began exactly once, in order, \
            whatever is added meanwhile, and page 1,000 costs what page 1 costs. A cursor is sealed for the user, \
            the list and its filters: it remembers the filters (repeat them unchanged or leave them out), and any \
            other use is 400. Filters: `archived` (projects) and `completed` (tasks) take `true` or `false`; `q` \
            keeps the items whose name contains the text, ignoring letter case as the database does: on \
            PostgreSQL by its `lower()` for every script its locale knows, on SQLite for ASCII letters only \
            (`É` and `é` differ there).\n\n\
            Projects and tasks carry a strong `ETag`. `If-None-Match` with a current tag answers 304 without a \
            body; `If-Match` on every `PUT` and `DELETE` of a project or task makes the change only while the \
            resource still has one of the listed tags, else 412 and nothing changes (checked in the same \
            transaction as the change); the answer carries the new `ETag`. A project's tag moves with every \
            change of the project or its tasks, a task's only with the task. `If-Match: *` and malformed lists \
            are 400.\n\n\
            `POST /api/users`, `POST /api/projects` and `POST /api/projects/{id}/tasks` take an \
            `Idempotency-Key` (1 to 255 visible ASCII characters). Repeated within 24 hours by the same caller \
            with the same body (the same bytes), the request answers the first 201 again, status, body, \
            `Location` and `ETag` byte for byte, marked `Idempotent-Replayed: true`, and creates nothing, on any \
            instance and after restarts: the answer is stored in the transaction that created the resource. The \
            same key with another route or body is 422 `idempotency-key-reused`; while the first request is still \
            running a repeat is 409 `idempotency-key-in-use`. Refused requests are not recorded: retry them with \
            the same key once the refusal no longer applies.\n\n\
            Logins are throttled: after 5 failed logins for one email address within 15 minutes, every login for \
            it answers 429 until the window (which began at the first failure) has passed, whether the address \
            has an account or not; a server may also limit logins and registrations per client address. Every \
            429 carries `Retry-After` in seconds. Behind the server's trusted proxies, the client address is the \
            rightmost `X-Forwarded-For` entry that is not one of them.\n\n\
            Every answer carries `X-Request-Id`: the client's own (1 to 128 visible ASCII characters) or a new \
            one; problem documents repeat it as `requestId`. Quote it when reporting a problem: the server's log \
            lines of the request carry it. A W3C `traceparent` is logged with the request and with the work its \
            events cause. Answers carry `X-Content-Type-Options: nosniff`; answers under `/api/users` carry \
            `Cache-Control: no-store`. Cross-origin requests from browsers are allowed only for the origins the \
            operator lists. What the server cannot do now is 503 with `Retry-After` (seconds): a database busy \
            past its wait, full or unreachable, a full password-hashing queue, or a request still running after \
            30 s; retry after the time given. Headers must arrive within 10 s of a request's start (32 KiB at \
            most, else 431), and an idle keep-alive connection is closed after 60 s.",
        license(name = "MIT")
    ),
    components(schemas(Problem, FieldError))
)]
struct BaseApi;

/// The complete document: the API's description and bearer scheme around `operations`,
/// the document the routes' registrations produced.
#[must_use]
pub fn document(operations: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut document = BaseApi::openapi();
    document.merge(operations);
    let components = document.components.get_or_insert_with(Default::default);
    let mut bearer = Http::new(HttpAuthScheme::Bearer);
    bearer.bearer_format = Some("JWT".to_owned());
    bearer.description = Some("An access token from POST /api/users/login".to_owned());
    components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    // The same tokens, obtained by Swagger UI's "Authorize" dialog with a username
    // (the email) and a password, and refreshed at the same endpoint.
    let password_grant = Password::with_refresh_url(LOGIN, Scopes::new(), LOGIN);
    components.add_security_scheme(
        PASSWORD_GRANT,
        SecurityScheme::OAuth2(OAuth2::with_description(
            [Flow::Password(password_grant)],
            "The OAuth2 password grant of POST /api/users/login: the username is the email address",
        )),
    );
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ];
        operations.into_iter().flatten().for_each(accept_the_password_grant);
    }
    document
}

const LOGIN: &str = "/api/users/login";
const PASSWORD_GRANT: &str = "passwordGrant";

/// An operation that takes a bearer token takes one from the password grant as well:
/// the two are alternatives (either satisfies it).
fn accept_the_password_grant(operation: &mut Operation) {
    let bearer = SecurityRequirement::new("bearer", Vec::<String>::new());
    if let Some(requirements) = operation.security.as_mut()
        && requirements.contains(&bearer)
    {
        requirements.push(SecurityRequirement::new(PASSWORD_GRANT, Vec::<String>::new()));
    }
}
