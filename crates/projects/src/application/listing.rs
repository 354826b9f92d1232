//! Lists read a page at a time: after a position (keyset, never an offset, so page *k*
//! costs what page 1 costs), at most a page size of items, narrowed by filters.

use thiserror::Error;
use unicode_normalization::UnicodeNormalization;

use super::views::{ProjectSummary, TaskDetails};

/// How many items a page holds: 1 to 500, 100 unless the client asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u16);

#[derive(Debug, Error, PartialEq, Eq)]
#[error("a page holds 1 to 500 items")]
pub struct PageSizeError;

impl PageSize {
    pub const DEFAULT: Self = Self(100);
    pub const MAX: u16 = 500;

    /// # Errors
    /// `PageSizeError` outside 1..=500.
    pub fn new(size: i64) -> Result<Self, PageSizeError> {
        u16::try_from(size).ok().filter(|size| (1..=Self::MAX).contains(size)).map(Self).ok_or(PageSizeError)
    }

    #[must_use]
    pub const fn get(self) -> u16 {
        self.0
    }

    /// Rows to fetch: one more than the page, to learn whether another page follows.
    #[must_use]
    pub const fn probe(self) -> i64 {
        self.0 as i64 + 1
    }
}

/// A case-insensitive substring of the name (`q`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameContains(String);

#[derive(Debug, Error, PartialEq, Eq)]
#[error("a search text holds at most 200 characters and no control characters")]
pub struct NameContainsError;

impl NameContains {
    pub const MAX_CHARS: usize = 200;

    /// The text in NFC, the form names are kept in, so that a decomposed accent finds
    /// a composed one.
    ///
    /// # Errors
    /// `NameContainsError` for more than 200 characters (once composed) or a control
    /// character (no name holds one, and PostgreSQL refuses NUL in text).
    pub fn new(text: &str) -> Result<Self, NameContainsError> {
        let text: String = text.nfc().collect();
        if text.chars().count() > Self::MAX_CHARS || text.chars().any(char::is_control) {
            return Err(NameContainsError);
        }
        Ok(Self(text))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `name` contains the text, ignoring letter case (Unicode lower case; the
    /// databases' own `lower` is what the SQL adapters use).
    #[must_use]
    pub fn matches(&self, name: &str) -> bool {
        name.to_lowercase().contains(&self.0.to_lowercase())
    }
}

/// Which of a user's projects a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectFilter {
    pub archived: Option<bool>,
    pub name_contains: Option<NameContains>,
}

impl ProjectFilter {
    #[must_use]
    pub fn admits(&self, project: &ProjectSummary) -> bool {
        self.archived.is_none_or(|archived| project.archived_at.is_some() == archived)
            && self.name_contains.as_ref().is_none_or(|text| text.matches(&project.name))
    }
}

/// Which of a project's tasks a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    pub completed: Option<bool>,
    pub name_contains: Option<NameContains>,
}

impl TaskFilter {
    #[must_use]
    pub fn admits(&self, task: &TaskDetails) -> bool {
        self.completed.is_none_or(|completed| task.completed_at.is_some() == completed)
            && self.name_contains.as_ref().is_none_or(|text| text.matches(&task.name))
    }
}

/// One page of a list, in list order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Whether items follow the last one of this page.
    pub more: bool,
}

impl<T> Page<T> {
    /// The page from up to `size.probe()` rows fetched in order.
    #[must_use]
    pub fn from_probe(mut rows: Vec<T>, size: PageSize) -> Self {
        let more = rows.len() > usize::from(size.get());
        rows.truncate(usize::from(size.get()));
        Self { items: rows, more }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TaskNumber;

    #[test]
    fn a_page_holds_one_to_five_hundred_items() {
        assert_eq!(PageSize::new(1).map(PageSize::get), Ok(1));
        assert_eq!(PageSize::new(500).map(PageSize::get), Ok(500));
        for invalid in [0, -1, 501, i64::MAX, i64::MIN] {
            assert_eq!(PageSize::new(invalid), Err(PageSizeError), "{invalid}");
        }
        assert_eq!(PageSize::DEFAULT.get(), 100);
    }

    #[test]
    fn one_row_beyond_the_page_says_that_more_follow() {
        let size = PageSize::new(2).unwrap();
        assert_eq!(Page::from_probe(vec![1, 2, 3], size), Page { items: vec![1, 2], more: true });
        assert_eq!(Page::from_probe(vec![1, 2], size), Page { items: vec![1, 2], more: false });
        assert_eq!(Page::from_probe(Vec::<i32>::new(), size), Page { items: vec![], more: false });
    }

    #[test]
    fn a_search_text_matches_any_letter_case_and_refuses_control_characters() {
        let text = NameContains::new("ÉCOLE").unwrap();
        assert!(text.matches("Retour à l'école"));
        assert!(!text.matches("ecole"));
        assert!(NameContains::new("").unwrap().matches("anything"));
        assert_eq!(NameContains::new("a\u{0}b"), Err(NameContainsError));
        assert_eq!(NameContains::new("line\nbreak"), Err(NameContainsError));
        assert!(NameContains::new(&"é".repeat(200)).is_ok());
        assert_eq!(NameContains::new(&"é".repeat(201)), Err(NameContainsError));
    }

    #[test]
    fn a_decomposed_search_text_finds_a_composed_name() {
        let text = NameContains::new("E\u{301}cole").unwrap();
        assert_eq!(text.as_str(), "\u{c9}cole");
        assert!(text.matches("Retour \u{e0} l'\u{e9}cole"));
        assert!(NameContains::new(&"e\u{301}".repeat(200)).is_ok(), "200 characters once composed");
    }

    #[test]
    fn filters_admit_what_they_name_and_no_filter_admits_all() {
        let done = TaskDetails {
            number: TaskNumber::FIRST,
            name: "Write the report".into(),
            completed_at: Some(time::OffsetDateTime::UNIX_EPOCH),
        };
        assert!(TaskFilter::default().admits(&done));
        assert!(TaskFilter { completed: Some(true), name_contains: None }.admits(&done));
        assert!(!TaskFilter { completed: Some(false), name_contains: None }.admits(&done));
        let report = NameContains::new("REPORT").ok();
        assert!(TaskFilter { completed: Some(true), name_contains: report.clone() }.admits(&done));
        let project =
            ProjectSummary { id: crate::domain::ProjectId::new(1).unwrap(), name: "Reports".into(), archived_at: None };
        assert!(ProjectFilter { archived: Some(false), name_contains: report.clone() }.admits(&project));
        assert!(!ProjectFilter { archived: Some(true), name_contains: None }.admits(&project));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use unicode_normalization::is_nfc;

    use super::*;

    proptest! {
        #[test]
        fn a_page_size_is_any_count_from_1_to_500(size in prop_oneof![any::<i64>(), -5_i64..=505]) {
            match PageSize::new(size) {
                Ok(page) => {
                    prop_assert!((1..=500).contains(&size));
                    prop_assert_eq!(i64::from(page.get()), size);
                    prop_assert_eq!(page.probe(), size + 1);
                }
                Err(PageSizeError) => prop_assert!(!(1..=500).contains(&size)),
            }
        }

        #[test]
        fn a_search_text_is_kept_composed_and_found_in_any_name_holding_it(
            text in prop_oneof![any::<String>(), "[a-zA-Z \u{e9}\u{301}\u{0}\n]{0,210}"],
            before in "[a-z ]{0,5}",
        ) {
            match NameContains::new(&text) {
                Ok(search) => {
                    prop_assert!(is_nfc(search.as_str()));
                    prop_assert!(search.as_str().chars().count() <= NameContains::MAX_CHARS);
                    prop_assert!(!search.as_str().chars().any(char::is_control));
                    prop_assert_eq!(NameContains::new(search.as_str()), Ok(search.clone()));
                    let name = format!("{before}{}", search.as_str());
                    prop_assert!(search.matches(&name), "{:?} in {:?}", search.as_str(), name);
                }
                Err(NameContainsError) => prop_assert!(
                    text.chars().any(char::is_control) || text.chars().count() > NameContains::MAX_CHARS
                ),
            }
        }
    }
}
