//! In-memory fakes of the accounts ports and the contract every `AccountsStore` must
//! honour. Enabled by the `testing` feature; used by this crate's use-case tests and
//! by the adapters, whose SQL stores run the same contract as the fake.

pub mod contract;
mod fakes;

pub use fakes::{FakeHasher, FakeRefreshTokens, FakeTokens, InMemoryAccounts, OverloadedHasher};
