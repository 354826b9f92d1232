//! The OpenAPI document: what the API says of itself, around the operations every
//! route registered with its handler.

use taskdeck_platform_http::{FieldError, Problem};
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

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
            Access tokens are stateless HS256 JWTs: they stay valid until they expire (default one hour), \
            unless the signing key changes, or the account they were issued for no longer exists.",
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
    document
}
