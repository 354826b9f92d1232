//! Paged lists over HTTP: `limit`, `cursor` and the filters of the query string in, the
//! next page's cursor (`nextCursor` and `Link: <…>; rel="next"`) out.
//!
//! A cursor holds the position to continue after and the filters of the list it was
//! made for, sealed (see `taskdeck_platform::cursor`) for that list: the user, and for
//! tasks the project. A request that carries a cursor may leave the filters out (the
//! cursor remembers them) or repeat them; other filters are a 400.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use taskdeck_kernel::UserId;
use taskdeck_platform::PageCursors;
use taskdeck_platform_http::{ApiError, FieldError, Problem};
use taskdeck_projects::application::{NameContains, PageSize};
use taskdeck_projects::domain::ProjectId;

const LIMIT: &str = "limit";
const CURSOR: &str = "cursor";
const SEARCH: &str = "q";

/// Which list a query is for.
#[derive(Debug, Clone, Copy)]
pub(super) enum List {
    Projects,
    Tasks(ProjectId),
}

impl List {
    /// The name of the list's yes/no filter.
    const fn flag(self) -> &'static str {
        match self {
            Self::Projects => "archived",
            Self::Tasks(_) => "completed",
        }
    }

    fn path(self) -> String {
        match self {
            Self::Projects => "/api/projects".to_owned(),
            Self::Tasks(project) => format!("/api/projects/{project}/tasks"),
        }
    }

    /// What a cursor is sealed for: this list of this user.
    fn scope(self, owner: UserId) -> Vec<u8> {
        let mut scope = Vec::with_capacity(32);
        scope.extend_from_slice(owner.as_uuid().as_bytes());
        match self {
            Self::Projects => scope.extend_from_slice(b"projects"),
            Self::Tasks(project) => {
                scope.extend_from_slice(b"tasks");
                scope.extend_from_slice(&project.get().to_be_bytes());
            }
        }
        scope
    }
}

/// 400 for a cursor this list did not issue (or that names no item: a sealed cursor
/// holds only positions this server wrote, so that means the key was shared elsewhere).
pub(super) fn invalid_cursor() -> ApiError {
    Problem::typed(StatusCode::BAD_REQUEST, "invalid-cursor", "The cursor is malformed, or is not one this list issued")
        .into()
}

/// What a cursor carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Position {
    /// The id or number of the last item of the page before.
    after: i64,
    flag: Option<bool>,
    q: Option<String>,
}

/// A list request, read from the query string.
#[derive(Debug)]
pub(super) struct PageRequest {
    list: List,
    owner: UserId,
    pub size: PageSize,
    /// Whether the client chose the size (it is then kept in the next link).
    sized: bool,
    pub after: Option<i64>,
    pub flag: Option<bool>,
    pub name_contains: Option<NameContains>,
}

impl PageRequest {
    /// Reads `limit`, `cursor`, the flag filter and `q`; other parameters are ignored.
    ///
    /// # Errors
    /// 400 for a query string that is not form-encoded, a cursor that is not one of this
    /// list's, or filters other than the cursor's; 422 naming each invalid parameter.
    pub fn parse(raw_query: Option<&str>, list: List, owner: UserId, cursors: &PageCursors) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw_query.unwrap_or_default())
            .map_err(|_| ApiError::bad_request("The query string is not form-encoded"))?;
        let last = |name: &str| pairs.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value.as_str());

        let mut errors = Vec::new();
        let size = match last(LIMIT) {
            None => Some(PageSize::DEFAULT),
            Some(raw) => {
                let size = raw.parse::<i64>().ok().and_then(|size| PageSize::new(size).ok());
                if size.is_none() {
                    errors.push(FieldError::new(LIMIT, "must be an integer from 1 to 500"));
                }
                size
            }
        };
        let flag = match last(list.flag()) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(FieldError::new(list.flag(), "must be true or false")),
        }
        .map_err(|error| errors.push(error))
        .ok()
        .flatten();
        let name_contains = last(SEARCH)
            .map(NameContains::new)
            .transpose()
            .map_err(|error| errors.push(FieldError::new(SEARCH, error)))
            .ok()
            .flatten();
        let Some(size) = size.filter(|_| errors.is_empty()) else {
            return Err(ApiError::validation(errors));
        };

        let mut request = Self { list, owner, size, sized: last(LIMIT).is_some(), after: None, flag, name_contains };
        if let Some(cursor) = last(CURSOR) {
            request.continue_from(cursors, cursor, last(list.flag()).is_some(), last(SEARCH).is_some())?;
        }
        Ok(request)
    }

    /// Takes position and filters from `cursor`; filters the request names must be the
    /// cursor's.
    fn continue_from(
        &mut self,
        cursors: &PageCursors,
        cursor: &str,
        flag_given: bool,
        search_given: bool,
    ) -> Result<(), ApiError> {
        let payload = cursors.open(&self.list.scope(self.owner), cursor).map_err(|_| invalid_cursor())?;
        let position: Position = serde_json::from_slice(&payload).map_err(|_| invalid_cursor())?;
        let cursor_search = position.q.as_deref().map(NameContains::new).transpose().map_err(|_| invalid_cursor())?;
        let flag_differs = flag_given && self.flag != position.flag;
        let search_differs = search_given && self.name_contains != cursor_search;
        if flag_differs || search_differs {
            return Err(Problem::typed(
                StatusCode::BAD_REQUEST,
                "cursor-filter-mismatch",
                "The cursor belongs to a list with other filters; leave the filters out or repeat the cursor's",
            )
            .into());
        }
        self.after = Some(position.after);
        self.flag = position.flag;
        self.name_contains = cursor_search;
        Ok(())
    }

    /// The cursor of the page after the one ending with `last`.
    fn next_cursor(&self, cursors: &PageCursors, last: i64) -> String {
        let position = Position {
            after: last,
            flag: self.flag,
            q: self.name_contains.as_ref().map(|text| text.as_str().to_owned()),
        };
        // A struct of integers, booleans and strings always serialises.
        let payload = serde_json::to_vec(&position).unwrap_or_default();
        cursors.seal(&self.list.scope(self.owner), &payload)
    }

    /// The link to the next page: the same list, filters and size, from `cursor`.
    fn next_link(&self, cursor: &str) -> String {
        let mut query: Vec<(&str, String)> = Vec::with_capacity(4);
        if self.sized {
            query.push((LIMIT, self.size.get().to_string()));
        }
        if let Some(flag) = self.flag {
            query.push((self.list.flag(), flag.to_string()));
        }
        if let Some(text) = &self.name_contains {
            query.push((SEARCH, text.as_str().to_owned()));
        }
        query.push((CURSOR, cursor.to_owned()));
        let encoded = serde_urlencoded::to_string(&query).unwrap_or_default();
        format!("<{}?{encoded}>; rel=\"next\"", self.list.path())
    }

    /// The answer for a page whose last item is `last`, when more follow: the body
    /// `page(next_cursor)` and, with a next page, its `Link`.
    pub fn respond<B: Serialize>(
        &self,
        cursors: &PageCursors,
        last: Option<i64>,
        more: bool,
        page: impl FnOnce(Option<String>) -> B,
    ) -> Response {
        let next = last.filter(|_| more).map(|last| self.next_cursor(cursors, last));
        let link = next.as_deref().map(|cursor| self.next_link(cursor));
        let mut response = axum::Json(page(next)).into_response();
        if let Some(link) = link.and_then(|link| HeaderValue::from_str(&link).ok()) {
            response.headers_mut().insert(header::LINK, link);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursors() -> PageCursors {
        PageCursors::new(b"a key of this installation").unwrap()
    }

    fn tasks() -> List {
        List::Tasks(ProjectId::new(7).unwrap())
    }

    fn status(result: Result<PageRequest, ApiError>) -> (u16, String) {
        let error = result.unwrap_err();
        (error.problem().status, serde_json::to_string(error.problem()).unwrap())
    }

    #[test]
    fn without_parameters_a_list_starts_at_the_top_with_the_default_size_and_no_filter() {
        let request = PageRequest::parse(None, tasks(), UserId::generate(), &cursors()).unwrap();
        assert_eq!(
            (request.size, request.after, request.flag, request.name_contains),
            (PageSize::DEFAULT, None, None, None)
        );
    }

    #[test]
    fn bad_values_are_named_one_by_one() {
        let owner = UserId::generate();
        for (query, field) in [
            ("limit=0", "limit"),
            ("limit=501", "limit"),
            ("limit=abc", "limit"),
            ("limit=", "limit"),
            ("limit=1.5", "limit"),
            ("completed=yes", "completed"),
            ("completed=", "completed"),
            ("q=a%00b", "q"),
        ] {
            let (status, body) = status(PageRequest::parse(Some(query), tasks(), owner, &cursors()));
            assert_eq!(status, 422, "{query}");
            assert!(body.contains(&format!("\"field\":\"{field}\"")), "{query}: {body}");
        }
        let (_, body) = status(PageRequest::parse(Some("limit=0&completed=maybe"), tasks(), owner, &cursors()));
        assert!(body.contains("\"limit\"") && body.contains("\"completed\""), "{body}");
        let (_, body) = status(PageRequest::parse(Some("archived=maybe"), List::Projects, owner, &cursors()));
        assert!(body.contains("\"archived\""), "{body}");
        assert!(PageRequest::parse(Some("archived=maybe"), tasks(), owner, &cursors()).is_ok(), "not a task filter");
    }

    #[test]
    fn a_next_cursor_continues_the_same_list_with_its_filters() {
        let (owner, cursors) = (UserId::generate(), cursors());
        let first = PageRequest::parse(Some("limit=2&completed=false&q=Report"), tasks(), owner, &cursors).unwrap();
        let cursor = first.next_cursor(&cursors, 12);
        let link = first.next_link(&cursor);
        assert_eq!(
            link,
            format!("</api/projects/7/tasks?limit=2&completed=false&q=Report&cursor={cursor}>; rel=\"next\"")
        );

        let alone = PageRequest::parse(Some(&format!("cursor={cursor}")), tasks(), owner, &cursors).unwrap();
        assert_eq!(alone.after, Some(12));
        assert_eq!(alone.flag, Some(false), "the cursor remembers the filters");
        assert_eq!(alone.name_contains, NameContains::new("Report").ok());
        assert_eq!(alone.size, PageSize::DEFAULT, "the size is the request's");
        let repeated = format!("completed=false&q=Report&limit=5&cursor={cursor}");
        assert_eq!(PageRequest::parse(Some(&repeated), tasks(), owner, &cursors).unwrap().size.get(), 5);
    }

    #[test]
    fn a_cursor_with_other_filters_or_of_another_list_or_user_is_refused() {
        let (owner, cursors) = (UserId::generate(), cursors());
        let first = PageRequest::parse(Some("completed=false"), tasks(), owner, &cursors).unwrap();
        let cursor = first.next_cursor(&cursors, 12);
        for query in [format!("completed=true&cursor={cursor}"), format!("q=x&cursor={cursor}")] {
            let (status, body) = status(PageRequest::parse(Some(&query), tasks(), owner, &cursors));
            assert_eq!(status, 400, "{query}");
            assert!(body.contains("cursor-filter-mismatch"), "{body}");
        }
        let query = format!("cursor={cursor}");
        let other_project = List::Tasks(ProjectId::new(8).unwrap());
        for (list, who) in [(other_project, owner), (List::Projects, owner), (tasks(), UserId::generate())] {
            let (status, body) = status(PageRequest::parse(Some(&query), list, who, &cursors));
            assert_eq!(status, 400);
            assert!(body.contains("invalid-cursor"), "{body}");
        }
        for garbage in ["cursor=", "cursor=garbage", "cursor=%FF%FE", &format!("cursor={}", "A".repeat(5000))] {
            let (status, body) = status(PageRequest::parse(Some(garbage), tasks(), owner, &cursors));
            assert_eq!(status, 400, "{garbage}");
            assert!(body.contains("invalid-cursor"), "{body}");
        }
    }
}
