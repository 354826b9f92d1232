//! Each context's SQL names its own tables and the platform's, never another
//! context's: the tables a context owns are those its migrations create, and every
//! statement of its adapters (source and migrations) is read for the tables it names.
//!
//! Statements are found by their keywords, which taskdeck writes in capitals; a lower
//! case `from` is English, as in the comments.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Keywords after which a statement names a table (possibly schema-qualified).
const NAMING_KEYWORDS: [&str; 7] = ["FROM", "JOIN", "INTO", "UPDATE", "TABLE", "REFERENCES", "ON"];

/// The SQL of one owner of tables: a context, or the platform.
#[derive(Debug)]
pub struct Owner {
    pub name: String,
    /// Migrations: what they create is the owner's.
    pub migrations: Vec<(PathBuf, String)>,
    /// Code whose statements must stay within the owner's tables and the platform's.
    pub sources: Vec<(PathBuf, String)>,
}

/// Tables created by `sql`.
pub fn created_tables(sql: &str) -> BTreeSet<String> {
    let words = words(sql);
    let mut tables = BTreeSet::new();
    for (index, word) in words.iter().enumerate() {
        if *word == "CREATE" {
            let rest = &words[index + 1..];
            let rest = rest.strip_prefix(&["TABLE"][..]).unwrap_or_default();
            let rest = rest.strip_prefix(&["IF", "NOT", "EXISTS"][..]).unwrap_or(rest);
            if let Some(name) = rest.first() {
                tables.insert(unqualified(name));
            }
        }
    }
    tables
}

/// Tables named anywhere in `text` by a statement or a `table: "NAME"` constraint key.
pub fn named_tables(text: &str) -> BTreeSet<String> {
    let words = words(text);
    let mut tables: BTreeSet<String> =
        words.windows(2).filter(|pair| NAMING_KEYWORDS.contains(&pair[0])).map(|pair| unqualified(pair[1])).collect();
    tables.extend(text.split("table: \"").skip(1).filter_map(|rest| rest.split('"').next()).map(str::to_owned));
    tables
}

impl Owner {
    /// The tables its migrations create.
    pub fn created_tables(&self) -> BTreeSet<String> {
        self.migrations.iter().flat_map(|(_, sql)| created_tables(sql)).collect()
    }
}

/// The rule broken anywhere, as messages: a context may name its own tables and the
/// platform's, the platform none of a context's; and no table is created by two owners.
pub fn foreign_table_violations(platform: &Owner, contexts: &[Owner]) -> Vec<String> {
    let owners: Vec<&Owner> = contexts.iter().chain(std::iter::once(platform)).collect();
    let mut violations = Vec::new();
    let mut owner_of: BTreeMap<String, &str> = BTreeMap::new();
    for owner in &owners {
        for table in owner.created_tables() {
            if let Some(first) = owner_of.insert(table.clone(), &owner.name) {
                violations.push(format!("the table `{table}` is created by both {first} and {}", owner.name));
            }
        }
    }
    for owner in &owners {
        for (file, text) in owner.migrations.iter().chain(&owner.sources) {
            for table in named_tables(text) {
                match owner_of.get(&table) {
                    Some(&other) if other != owner.name && other != platform.name => violations.push(format!(
                        "{} names the table `{table}` of {other} (in {})",
                        owner.name,
                        file.display()
                    )),
                    _ => {}
                }
            }
        }
    }
    violations
}

/// SQL words: runs of letters, digits, `_`, `.` and `"`, so `"accounts".users` stays one.
fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '"'))
        .filter(|word| !word.is_empty())
        .collect()
}

/// `schema.table` or `"table"` → `table`.
fn unqualified(name: &str) -> String {
    name.rsplit('.').next().unwrap_or(name).trim_matches('"').to_owned()
}

/// The files under `dir` (recursively) whose names end in `extension`.
pub fn files(dir: &Path, extension: &str) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|found| found == extension) {
                let text = std::fs::read_to_string(&path).expect("a text file");
                found.push((path, text));
            }
        }
    }
    found.sort();
    found
}
