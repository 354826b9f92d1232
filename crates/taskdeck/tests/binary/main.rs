//! The real `taskdeck` binary, started as a child process on a temporary database and
//! driven over TCP: the newcomer's flow, commands, crashes, signals and several
//! instances. One test binary (one link) for all of them keeps CI's disk use down.

mod support;

mod backup;
mod commands;
mod connections;
mod docs;
mod durability;
mod faults;
mod http;
mod idempotency;
mod instances;
mod keys;
mod lifecycle;
mod logs;
mod metrics;
mod sessions;
mod throttling;
mod unavailable;
mod upgrade;
