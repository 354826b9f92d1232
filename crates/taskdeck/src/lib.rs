//! The taskdeck binary as a library: configuration, the composition root that wires
//! the contexts to their adapters, the HTTP application, and the subcommands. The
//! black-box tests in `tests/` use it to build the same application the binary runs.

pub mod backends;
pub mod cli;
pub mod commands;
pub mod composition;
pub mod config;
pub mod http;
pub mod telemetry;
