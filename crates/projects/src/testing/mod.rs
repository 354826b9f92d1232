//! An in-memory fake of the projects ports and the contract every store must honour.
//! Enabled by the `testing` feature; the SQL adapters run the same contract.

pub mod contract;
mod fake;

pub use fake::InMemoryProjects;
