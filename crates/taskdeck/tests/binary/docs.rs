//! The documentation browser under its Content-Security-Policy, in a real browser:
//! headless Chromium renders `/docs` and reports no blocked script or style.

use std::path::Path;
use std::process::Command;

use crate::support::Server;

const CHROMIUM: &str = "/usr/bin/chromium";

/// Chromium, or `None` (said loudly) on a machine without it; CI sets
/// `TASKDECK_REQUIRE_CHROMIUM` so that the test cannot skip there.
#[allow(clippy::print_stderr)] // a skip must be seen in the test output
fn chromium() -> Option<&'static Path> {
    let path = Path::new(CHROMIUM);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("TASKDECK_REQUIRE_CHROMIUM").is_none(),
        "TASKDECK_REQUIRE_CHROMIUM is set but {CHROMIUM} is missing (apt-get install chromium)"
    );
    eprintln!("SKIPPED: {CHROMIUM} is not installed; the /docs browser test did not run");
    None
}

#[test]
fn swagger_ui_renders_every_operation_under_the_docs_content_security_policy() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = Server::start(dir.path());
    let profile = dir.path().join("chromium-profile");
    // The flags keep Chromium off the network beyond localhost (this machine has none)
    // and give it virtual time to run Swagger UI's scripts before the DOM is dumped.
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("{}/docs/", server.base))
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&output.stdout);
    let console = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "chromium failed: {}\n{console}", output.status);
    for path in ["/health", "/api/users", "/api/projects", "/api/projects/{id}/tasks"] {
        assert!(
            dom.contains(&format!("data-path=\"{path}\"")),
            "Swagger UI did not render the operation on {path}; the browser said:\n{console}"
        );
    }
    let blocked: Vec<&str> =
        console.lines().filter(|line| line.contains("CONSOLE") && line.contains("Content Security Policy")).collect();
    assert!(blocked.is_empty(), "the policy blocked part of the page:\n{}", blocked.join("\n"));
}
