//! The architecture's hard rules, checked over the real dependency graph.
//!
//! `cargo metadata` gives the resolved graph of the workspace; only normal
//! dependencies count (dev- and build-dependencies are not part of what a crate links
//! against in production). Each broken rule is reported with the chain of crates that
//! breaks it, so the fix is obvious from the failure message.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

mod tables;

use tables::Owner;

const KERNEL: &str = "taskdeck-kernel";
const PLATFORM: &str = "taskdeck-platform";
const PLATFORM_SQLITE: &str = "taskdeck-platform-sqlite";
const PLATFORM_POSTGRES: &str = "taskdeck-platform-postgres";
const TESTKIT: &str = "taskdeck-testkit";
const BINARY: &str = "taskdeck";
/// A bounded context is a crate `taskdeck-NAME` (domain and application) with a
/// sibling `taskdeck-NAME-adapters`: a new context is found, and checked, by this
/// convention alone.
const ADAPTERS_SUFFIX: &str = "-adapters";

/// Crate families (the crate itself and every `<family>-…` crate, such as `sqlx-core`
/// or `tower-http`) that pure crates must not reach, even transitively.
const INFRASTRUCTURE_FAMILIES: [&str; 9] =
    ["sqlx", "rusqlite", "libsqlite3", "axum", "hyper", "tokio", "tower", "utoipa", "http"];

/// One bounded context: its pure crate and its adapters.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Context {
    core: String,
    adapters: String,
}

impl Context {
    fn crates(&self) -> [&str; 2] {
        [&self.core, &self.adapters]
    }
}

/// A dependency graph over packages: normal dependencies only.
#[derive(Debug, Default)]
struct Graph {
    /// Package id → crate name, for messages and rules.
    names: HashMap<String, String>,
    /// Package id → ids of its normal dependencies.
    dependencies: HashMap<String, Vec<String>>,
    /// Ids of the workspace members.
    members: BTreeSet<String>,
}

impl Graph {
    /// A graph from `(crate, dependency)` edges, using names as ids; `members` are the
    /// workspace crates. For testing the rules themselves.
    fn from_edges(members: &[&str], edges: &[(&str, &str)]) -> Self {
        let mut graph = Self::default();
        for name in members.iter().copied().chain(edges.iter().flat_map(|(from, to)| [*from, *to])) {
            graph.names.insert(name.to_owned(), name.to_owned());
            graph.dependencies.entry(name.to_owned()).or_default();
        }
        for (from, to) in edges {
            graph.dependencies.entry((*from).to_owned()).or_default().push((*to).to_owned());
        }
        graph.members = members.iter().map(|name| (*name).to_owned()).collect();
        graph
    }

    /// Reads the output of `cargo metadata --format-version 1`.
    fn from_metadata(metadata: &Value) -> Self {
        let mut graph = Self::default();
        for package in metadata["packages"].as_array().expect("`packages` is an array") {
            let id = package["id"].as_str().expect("a package has an id");
            let name = package["name"].as_str().expect("a package has a name");
            graph.names.insert(id.to_owned(), name.to_owned());
        }
        graph.members = metadata["workspace_members"]
            .as_array()
            .expect("`workspace_members` is an array")
            .iter()
            .map(|id| id.as_str().expect("a member id is a string").to_owned())
            .collect();
        let nodes = metadata["resolve"]["nodes"].as_array().expect("`resolve.nodes` is an array (no --no-deps)");
        for node in nodes {
            let id = node["id"].as_str().expect("a node has an id");
            let normal = node["deps"]
                .as_array()
                .expect("a node lists its deps")
                .iter()
                .filter(|dependency| {
                    // `kind` is null for a normal dependency, "dev" or "build" otherwise.
                    dependency["dep_kinds"]
                        .as_array()
                        .expect("a dependency lists its kinds")
                        .iter()
                        .any(|kind| kind["kind"].is_null())
                })
                .map(|dependency| dependency["pkg"].as_str().expect("a dependency names its package").to_owned())
                .collect();
            graph.dependencies.insert(id.to_owned(), normal);
        }
        graph
    }

    /// The bounded contexts among the members, found by the naming convention.
    fn contexts(&self) -> Vec<Context> {
        let names: BTreeSet<&str> = self.members.iter().map(|id| self.name(id)).collect();
        names
            .iter()
            .filter_map(|name| {
                let core = name.strip_suffix(ADAPTERS_SUFFIX)?;
                names.contains(core).then(|| Context { core: core.to_owned(), adapters: (*name).to_owned() })
            })
            .collect()
    }

    /// The id of the workspace member called `name`.
    fn member(&self, name: &str) -> Option<&str> {
        self.members.iter().map(String::as_str).find(|id| self.name(id) == name)
    }

    fn name<'a>(&'a self, id: &'a str) -> &'a str {
        self.names.get(id).map_or(id, String::as_str)
    }

    /// The shortest chain of normal dependencies from `from` to a crate whose name
    /// satisfies `is_target`, as crate names, or `None` when there is none.
    fn path_to(&self, from: &str, is_target: impl Fn(&str) -> bool) -> Option<Vec<String>> {
        let mut parent: HashMap<&str, &str> = HashMap::new();
        let mut queue = VecDeque::from([from]);
        let mut seen = BTreeSet::from([from]);
        while let Some(current) = queue.pop_front() {
            if current != from && is_target(self.name(current)) {
                let mut path = vec![self.name(current).to_owned()];
                let mut step = current;
                while let Some(previous) = parent.get(step) {
                    path.push(self.name(previous).to_owned());
                    step = previous;
                }
                path.reverse();
                return Some(path);
            }
            for next in self.dependencies.get(current).into_iter().flatten() {
                if seen.insert(next) {
                    parent.insert(next, current);
                    queue.push_back(next);
                }
            }
        }
        None
    }
}

fn show(path: &[String]) -> String {
    path.join(" -> ")
}

/// Rule 1: no bounded context depends on another, in any of its crates.
fn context_isolation_violations(graph: &Graph) -> Vec<String> {
    let contexts = graph.contexts();
    let mut violations = Vec::new();
    for context in &contexts {
        for other in contexts.iter().filter(|other| *other != context) {
            for name in context.crates() {
                let Some(id) = graph.member(name) else { continue };
                if let Some(path) = graph.path_to(id, |dependency| other.crates().contains(&dependency)) {
                    violations.push(format!("{name} must not depend on the {} context: {}", other.core, show(&path)));
                }
            }
        }
    }
    violations
}

/// Whether `name` is an infrastructure crate: one of the families or a member of one.
fn is_infrastructure(name: &str) -> bool {
    INFRASTRUCTURE_FAMILIES
        .iter()
        .any(|family| name == *family || name.strip_prefix(family).is_some_and(|rest| rest.starts_with('-')))
}

/// Rule 2: the kernel and every context's domain and application crate reach no
/// database, HTTP or async runtime crate, even transitively.
fn purity_violations(graph: &Graph) -> Vec<String> {
    let contexts = graph.contexts();
    let pure = std::iter::once(KERNEL).chain(contexts.iter().map(|context| context.core.as_str()));
    pure.filter_map(|name| {
        let id = graph.member(name)?;
        let path = graph.path_to(id, is_infrastructure)?;
        Some(format!("{name} must stay free of infrastructure crates: {}", show(&path)))
    })
    .collect()
}

/// Rule 3: the binary is the only crate that depends on the adapters of two contexts.
fn composition_root_violations(graph: &Graph) -> Vec<String> {
    let contexts = graph.contexts();
    graph
        .members
        .iter()
        .filter(|id| graph.name(id) != BINARY)
        .filter_map(|id| {
            let reached: Vec<Vec<String>> =
                contexts.iter().filter_map(|context| graph.path_to(id, |name| name == context.adapters)).collect();
            (reached.len() > 1).then(|| {
                let paths: Vec<String> = reached.iter().map(|path| show(path)).collect();
                format!(
                    "only {BINARY} may depend on several contexts' adapters, but {} does: {}",
                    graph.name(id),
                    paths.join(" and ")
                )
            })
        })
        .collect()
}

/// Rule 4: each backend's driver stays in its own crate. The backend-neutral platform
/// reaches no database driver, and neither backend crate reaches the other's driver,
/// so a build with one backend compiles nothing of the other.
fn backend_separation_violations(graph: &Graph) -> Vec<String> {
    let rules: [(&str, &[&str]); 3] =
        [(PLATFORM, &["sqlx", "rusqlite"]), (PLATFORM_SQLITE, &["sqlx"]), (PLATFORM_POSTGRES, &["rusqlite"])];
    rules
        .iter()
        .filter_map(|(name, drivers)| {
            let id = graph.member(name)?;
            let path = graph.path_to(id, |dependency| drivers.contains(&dependency))?;
            Some(format!("{name} must not reach another backend's driver: {}", show(&path)))
        })
        .collect()
}

/// Rule 5: test support is never linked into production: no crate has a normal
/// dependency on the test kit.
fn test_support_violations(graph: &Graph) -> Vec<String> {
    graph
        .members
        .iter()
        .filter_map(|id| {
            let path = graph.path_to(id, |name| name == TESTKIT)?;
            Some(format!("{TESTKIT} is for tests only, but {} depends on it: {}", graph.name(id), show(&path)))
        })
        .collect()
}

/// The resolved dependency graph of this workspace.
fn workspace_graph() -> Graph {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(&manifest)
        .output()
        .expect("cargo metadata can be run");
    assert!(output.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    Graph::from_metadata(&metadata)
}

fn assert_no_violations(violations: &[String]) {
    assert!(violations.is_empty(), "architecture rules broken:\n  {}", violations.join("\n  "));
}

#[test]
fn the_workspace_graph_holds_every_crate_so_the_rules_cannot_pass_vacuously() {
    let graph = workspace_graph();
    let members: BTreeMap<&str, &str> =
        graph.members.iter().map(|id| (graph.name(id), id.as_str())).collect::<BTreeMap<_, _>>();
    for name in [KERNEL, PLATFORM, PLATFORM_SQLITE, PLATFORM_POSTGRES, TESTKIT, BINARY] {
        assert!(members.contains_key(name), "{name} is missing from the workspace members {members:?}");
    }
    let contexts: Vec<String> = graph.contexts().into_iter().map(|context| context.core).collect();
    assert_eq!(contexts, ["taskdeck-accounts", "taskdeck-projects"], "the contexts found by convention");
    let binary = graph.member(BINARY).expect("the binary is a member");
    for context in graph.contexts() {
        assert!(
            graph.path_to(binary, |name| name == context.adapters).is_some(),
            "{BINARY} should wire {}",
            context.adapters
        );
    }
    for (backend, driver) in [(PLATFORM_SQLITE, "rusqlite"), (PLATFORM_POSTGRES, "sqlx")] {
        let id = graph.member(backend).expect("a backend crate");
        assert!(
            graph.path_to(id, |name| name == driver).is_some(),
            "{backend}'s normal dependencies should include {driver}; is the graph read correctly?"
        );
    }
}

#[test]
fn no_bounded_context_depends_on_another() {
    assert_no_violations(&context_isolation_violations(&workspace_graph()));
}

#[test]
fn the_kernel_and_every_contexts_domain_and_application_reach_no_database_http_or_runtime_crate() {
    assert_no_violations(&purity_violations(&workspace_graph()));
}

#[test]
fn only_the_binary_depends_on_the_adapters_of_several_contexts() {
    assert_no_violations(&composition_root_violations(&workspace_graph()));
}

#[test]
fn each_backends_driver_stays_in_its_own_crate() {
    assert_no_violations(&backend_separation_violations(&workspace_graph()));
}

#[test]
fn test_support_is_never_a_normal_dependency() {
    assert_no_violations(&test_support_violations(&workspace_graph()));
}

const ACCOUNTS: &str = "taskdeck-accounts";
const ACCOUNTS_ADAPTERS: &str = "taskdeck-accounts-adapters";
const PROJECTS: &str = "taskdeck-projects";
const PROJECTS_ADAPTERS: &str = "taskdeck-projects-adapters";

#[test]
fn a_context_is_found_by_its_adapters_crate_alone() {
    let graph = Graph::from_edges(
        &[
            KERNEL,
            ACCOUNTS,
            ACCOUNTS_ADAPTERS,
            "taskdeck-labels",
            "taskdeck-labels-adapters",
            "taskdeck-lonely-adapters",
        ],
        &[],
    );
    let found: Vec<String> = graph.contexts().into_iter().map(|context| context.core).collect();
    assert_eq!(found, [ACCOUNTS, "taskdeck-labels"], "an adapters crate without its context is no context");
}

#[test]
fn the_checker_flags_a_pure_crate_that_reaches_tokio_through_another_crate() {
    let graph = Graph::from_edges(
        &[KERNEL, ACCOUNTS, ACCOUNTS_ADAPTERS, PROJECTS, PROJECTS_ADAPTERS],
        &[(ACCOUNTS, KERNEL), (PROJECTS, KERNEL), (KERNEL, "some-helper"), ("some-helper", "tokio")],
    );
    let violations = purity_violations(&graph);
    assert_eq!(violations.len(), 3, "{violations:?}");
    assert!(
        violations
            .iter()
            .any(|violation| violation.contains("taskdeck-accounts -> taskdeck-kernel -> some-helper -> tokio")),
        "{violations:?}"
    );
}

#[test]
fn the_checker_flags_one_context_reaching_the_other_through_a_shared_crate() {
    let graph = Graph::from_edges(
        &[KERNEL, ACCOUNTS, PROJECTS, PLATFORM, ACCOUNTS_ADAPTERS, PROJECTS_ADAPTERS],
        &[(ACCOUNTS_ADAPTERS, PLATFORM), (PLATFORM, PROJECTS), (PROJECTS, KERNEL)],
    );
    assert_eq!(
        context_isolation_violations(&graph),
        vec![
            "taskdeck-accounts-adapters must not depend on the taskdeck-projects context: \
             taskdeck-accounts-adapters -> taskdeck-platform -> taskdeck-projects"
                .to_owned()
        ]
    );
}

#[test]
fn a_new_context_is_held_to_the_rules_without_editing_the_checker() {
    let graph = Graph::from_edges(
        &[KERNEL, ACCOUNTS, ACCOUNTS_ADAPTERS, "taskdeck-labels", "taskdeck-labels-adapters"],
        &[("taskdeck-labels-adapters", ACCOUNTS), ("taskdeck-labels", "tokio")],
    );
    let isolation = context_isolation_violations(&graph);
    assert_eq!(isolation.len(), 1, "{isolation:?}");
    assert!(
        isolation[0].starts_with("taskdeck-labels-adapters must not depend on the taskdeck-accounts"),
        "{isolation:?}"
    );
    let purity = purity_violations(&graph);
    assert_eq!(purity, vec!["taskdeck-labels must stay free of infrastructure crates: taskdeck-labels -> tokio"]);
}

#[test]
fn the_checker_flags_a_second_composition_root() {
    let graph = Graph::from_edges(
        &[PLATFORM, ACCOUNTS, ACCOUNTS_ADAPTERS, PROJECTS, PROJECTS_ADAPTERS, BINARY, "taskdeck-extra"],
        &[
            (BINARY, ACCOUNTS_ADAPTERS),
            (BINARY, PROJECTS_ADAPTERS),
            ("taskdeck-extra", ACCOUNTS_ADAPTERS),
            ("taskdeck-extra", PROJECTS_ADAPTERS),
        ],
    );
    let violations = composition_root_violations(&graph);
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].contains("taskdeck-extra -> taskdeck-accounts-adapters"), "{violations:?}");
}

#[test]
fn the_checker_flags_a_driver_in_the_wrong_platform_crate_and_test_support_in_production() {
    let graph = Graph::from_edges(
        &[PLATFORM, PLATFORM_SQLITE, PLATFORM_POSTGRES, TESTKIT, BINARY],
        &[(PLATFORM_SQLITE, "libsqlite3-sys"), (PLATFORM_POSTGRES, "sqlx"), (PLATFORM, "sqlx"), (BINARY, TESTKIT)],
    );
    assert_eq!(
        backend_separation_violations(&graph),
        vec!["taskdeck-platform must not reach another backend's driver: taskdeck-platform -> sqlx"]
    );
    assert_eq!(
        test_support_violations(&graph),
        vec!["taskdeck-testkit is for tests only, but taskdeck depends on it: taskdeck -> taskdeck-testkit"]
    );
}

/// Metadata of a kernel whose only dependency is tokio, of the given kinds.
fn kernel_depending_on_tokio_as(kinds: &[Value]) -> Value {
    let dep_kinds: Vec<Value> = kinds.iter().map(|kind| serde_json::json!({ "kind": kind, "target": null })).collect();
    serde_json::json!({
        "packages": [{ "id": "k", "name": KERNEL }, { "id": "t", "name": "tokio" }],
        "workspace_members": ["k"],
        "resolve": { "nodes": [
            { "id": "k", "deps": [{ "name": "tokio", "pkg": "t", "dep_kinds": dep_kinds }] },
            { "id": "t", "deps": [] },
        ] },
    })
}

#[test]
fn the_checker_ignores_dev_and_build_dependencies() {
    for kinds in [vec![Value::from("dev")], vec![Value::from("build")], vec![Value::from("dev"), Value::from("build")]]
    {
        let graph = Graph::from_metadata(&kernel_depending_on_tokio_as(&kinds));
        assert_eq!(purity_violations(&graph), Vec::<String>::new(), "{kinds:?}");
    }
}

#[test]
fn the_checker_counts_a_dependency_that_is_normal_as_well_as_dev() {
    let graph = Graph::from_metadata(&kernel_depending_on_tokio_as(&[Value::from("dev"), Value::Null]));
    assert_eq!(
        purity_violations(&graph),
        vec!["taskdeck-kernel must stay free of infrastructure crates: taskdeck-kernel -> tokio".to_owned()]
    );
}

#[test]
fn infrastructure_families_include_their_satellite_crates_but_not_lookalikes() {
    for name in [
        "sqlx",
        "sqlx-core",
        "rusqlite",
        "libsqlite3-sys",
        "tokio-util",
        "tower-http",
        "http",
        "http-body",
        "utoipa-gen",
    ] {
        assert!(is_infrastructure(name), "{name}");
    }
    for name in ["httparse", "towerlike", "serde", "taskdeck-kernel"] {
        assert!(!is_infrastructure(name), "{name}");
    }
}

/// The repository paths a document names in backticks or links: every `crates/…`,
/// `docs/…` and `.ci/…` path, less the placeholders (`<name>`) of files to create.
fn named_paths(document: &str) -> Vec<String> {
    document
        .split(['`', '(', ')', ' ', '\n'])
        .filter(|word| ["crates/", "docs/", ".ci/", "adr/"].iter().any(|prefix| word.starts_with(prefix)))
        .filter(|word| !word.contains('<') && !word.contains('…'))
        .map(|word| word.trim_end_matches([',', '.', ':', ';']).to_owned())
        .collect()
}

#[test]
fn every_file_the_extension_guide_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let guide = std::fs::read_to_string(root.join("docs/extending.md")).expect("docs/extending.md is readable");
    let named = named_paths(&guide);
    assert!(named.len() > 20, "the guide names the files to touch: {named:?}");
    let missing: Vec<&String> = named
        .iter()
        .filter(|path| {
            let relative = path.strip_prefix("adr/").map_or_else(|| (*path).clone(), |rest| format!("docs/adr/{rest}"));
            !root.join(relative).exists()
        })
        .collect();
    assert!(missing.is_empty(), "docs/extending.md names files that do not exist: {missing:?}");
}

#[test]
fn the_guide_check_skips_placeholders_and_reads_links() {
    let named = named_paths(
        "see `crates/a/src/b.rs`, `crates/<new>/`, [x](adr/0009-x.md) and `crates/c/src/mod.rs`: `crates/d/…`.",
    );
    assert_eq!(named, ["crates/a/src/b.rs", "adr/0009-x.md", "crates/c/src/mod.rs"]);
}

/// The workspace's directory of a crate: `taskdeck-NAME` lives in `crates/NAME`.
fn crate_dir(name: &str) -> std::path::PathBuf {
    let short = name.strip_prefix("taskdeck-").unwrap_or(name);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(short);
    assert!(dir.join("Cargo.toml").is_file(), "{name} is not in {}", dir.display());
    dir
}

fn migrations_of(name: &str) -> Vec<(std::path::PathBuf, String)> {
    let dir = crate_dir(name).join("migrations");
    if dir.is_dir() { tables::files(&dir, "sql") } else { Vec::new() }
}

/// A crate's code, without its unit tests (from a file's `#[cfg(test)]` on), which may
/// use any table name as an example.
fn sources_of(name: &str) -> Vec<(std::path::PathBuf, String)> {
    let mut sources = tables::files(&crate_dir(name).join("src"), "rs");
    for (_, text) in &mut sources {
        if let Some(tests) = text.find("#[cfg(test)]") {
            text.truncate(tests);
        }
    }
    sources
}

#[test]
fn no_contexts_sql_names_another_contexts_table_and_the_platform_names_none() {
    let graph = workspace_graph();
    let contexts: Vec<Owner> = graph
        .contexts()
        .iter()
        .map(|context| Owner {
            name: context.core.clone(),
            migrations: migrations_of(&context.adapters),
            sources: context.crates().iter().flat_map(|name| sources_of(name)).collect(),
        })
        .collect();
    let backends = [PLATFORM, PLATFORM_SQLITE, PLATFORM_POSTGRES];
    let platform = Owner {
        name: PLATFORM.to_owned(),
        migrations: backends.iter().flat_map(|name| migrations_of(name)).collect(),
        sources: backends.iter().flat_map(|name| sources_of(name)).collect(),
    };
    for owner in contexts.iter().chain(std::iter::once(&platform)) {
        let created = owner.created_tables();
        assert!(created.len() >= 2, "{} owns {created:?}: its migrations were not found", owner.name);
        let named: BTreeSet<String> = owner.sources.iter().flat_map(|(_, text)| tables::named_tables(text)).collect();
        assert!(created.iter().any(|table| named.contains(table)), "{}: no statement found in its sources", owner.name);
    }
    assert_no_violations(&tables::foreign_table_violations(&platform, &contexts));
}

fn owner(name: &str, migration: &str, source: &str) -> Owner {
    Owner {
        name: name.to_owned(),
        migrations: vec![(format!("{name}/0001.sql").into(), migration.to_owned())],
        sources: vec![(format!("{name}/sql.rs").into(), source.to_owned())],
    }
}

#[test]
fn the_table_checker_flags_a_statement_on_another_contexts_table_however_it_is_spelled() {
    let platform = owner(PLATFORM, "CREATE TABLE outbox (id BLOB); CREATE TABLE IF NOT EXISTS inbox (id BLOB)", "");
    for statement in [
        r#"const ME: &str = "SELECT id, name FROM projects WHERE owner_id = $1";"#,
        r#"const ME: &str = "SELECT p.id FROM users u JOIN projects.tasks t ON t.owner = u.id";"#,
        r#"const ME: &str = "DELETE FROM \"projects\" WHERE owner_id = $1";"#,
        r#"const KEY: UniqueKey = UniqueKey { table: "tasks", columns: &["n"] };"#,
    ] {
        let accounts = owner("taskdeck-accounts", "CREATE TABLE users (id BLOB)", statement);
        let projects =
            owner("taskdeck-projects", "CREATE TABLE projects (id INTEGER); CREATE TABLE tasks (n INTEGER)", "");
        let violations = tables::foreign_table_violations(&platform, &[accounts, projects]);
        assert_eq!(violations.len(), 1, "{statement}: {violations:?}");
        assert!(violations[0].starts_with("taskdeck-accounts names the table"), "{violations:?}");
    }
}

#[test]
fn the_table_checker_lets_a_context_name_its_own_and_the_platforms_tables_and_ignores_prose() {
    let platform = owner(PLATFORM, "CREATE TABLE outbox (id BLOB)", "");
    let projects = owner("taskdeck-projects", "CREATE TABLE projects (id INTEGER)", "");
    let accounts = owner(
        "taskdeck-accounts",
        "CREATE TABLE users (id BLOB); CREATE INDEX users_by_email ON users (email)",
        "/// Its projects are erased from projects by the other context, in reaction.\n\
         const ERASE: &str = \"DELETE FROM users WHERE id = $1\";\n\
         const RECORD: &str = \"INSERT INTO outbox (id) VALUES ($1)\";",
    );
    assert_no_violations(&tables::foreign_table_violations(&platform, &[accounts, projects]));
}

#[test]
fn the_table_checker_flags_a_table_created_by_two_owners() {
    let platform = owner(PLATFORM, "CREATE TABLE outbox (id BLOB)", "");
    let accounts = owner("taskdeck-accounts", "CREATE TABLE users (id BLOB); CREATE TABLE outbox (id BLOB)", "");
    let violations = tables::foreign_table_violations(&platform, &[accounts]);
    assert_eq!(violations, ["the table `outbox` is created by both taskdeck-accounts and taskdeck-platform"]);
}

#[test]
fn the_table_checker_flags_the_platform_naming_a_contexts_table() {
    let platform = owner(PLATFORM, "CREATE TABLE outbox (id BLOB)", r#"const X: &str = "SELECT COUNT(*) FROM users";"#);
    let accounts = owner("taskdeck-accounts", "CREATE TABLE users (id BLOB)", "");
    let violations = tables::foreign_table_violations(&platform, &[accounts]);
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].contains("taskdeck-platform names the table `users` of taskdeck-accounts"), "{violations:?}");
}
