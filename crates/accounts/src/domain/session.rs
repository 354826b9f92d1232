//! The `Session` aggregate: one signed-in device. A login opens it; it holds one live
//! refresh token at a time, which every refresh spends and replaces; revoking it ends
//! every token it issued.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use taskdeck_kernel::UserId;
use time::OffsetDateTime;
use uuid::Uuid;

/// Identifies a session; the `sid` claim of its access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(Uuid);

impl SessionId {
    /// A fresh, random id (nothing about the account or the time can be read from it).
    #[must_use]
    pub fn generate() -> Self {
        Self(Uuid::new_v4())
    }

    #[must_use]
    pub const fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    #[must_use]
    pub const fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for SessionId {
    type Err = uuid::Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(text).map(Self)
    }
}

/// The digest a refresh token is stored as: the token itself is never stored, so a
/// reader of the database cannot use it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RefreshDigest([u8; 32]);

impl RefreshDigest {
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for RefreshDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A prefix is enough to tell digests apart in a failing test.
        write!(f, "RefreshDigest({:02x}{:02x}{:02x}{:02x}…)", self.0[0], self.0[1], self.0[2], self.0[3])
    }
}

/// The `User-Agent` of the login that opened a session, as shown back to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAgent(String);

impl UserAgent {
    /// The longest agent kept, in characters; the rest is cut off.
    pub const MAX_CHARS: usize = 256;

    /// The first 256 characters of `raw`, with control characters dropped; `None` when
    /// nothing is left.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        let kept: String = raw.chars().filter(|c| !c.is_control()).take(Self::MAX_CHARS).collect();
        let kept = kept.trim();
        (!kept.is_empty()).then(|| Self(kept.to_owned()))
    }

    /// A stored agent, kept as it was stored.
    #[must_use]
    pub fn restore(stored: String) -> Self {
        Self(stored)
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the repository found under a presented refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresentedToken {
    /// The session's live token.
    Live,
    /// A token the session issued and a refresh has spent since.
    Spent,
}

/// Why a refresh is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefreshRefusal {
    /// A spent token came back: someone kept a copy. The session is revoked.
    #[error("the refresh token was used before; the session is revoked")]
    Reused,
    #[error("the refresh token has expired")]
    Expired,
    #[error("the session was revoked")]
    Revoked,
}

/// A stored session, as the repository hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionState {
    pub id: SessionId,
    pub user: UserId,
    pub created_at: OffsetDateTime,
    pub last_used_at: OffsetDateTime,
    pub user_agent: Option<UserAgent>,
    /// The live refresh token.
    pub refresh: RefreshDigest,
    pub refresh_expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub version: i64,
}

/// One signed-in device of a user.
#[derive(Debug, Clone)]
pub struct Session {
    state: SessionState,
    /// Tokens spent since the session was loaded, for the repository to mark.
    spent: Vec<RefreshDigest>,
}

impl Session {
    /// Opens a session at login, with its first refresh token valid for `lifetime`.
    #[must_use]
    pub fn open(
        id: SessionId,
        user: UserId,
        user_agent: Option<UserAgent>,
        refresh: RefreshDigest,
        now: OffsetDateTime,
        lifetime: Duration,
    ) -> Self {
        Self {
            state: SessionState {
                id,
                user,
                created_at: now,
                last_used_at: now,
                user_agent,
                refresh,
                refresh_expires_at: now + lifetime,
                revoked_at: None,
                version: 0,
            },
            spent: Vec::new(),
        }
    }

    /// Rebuilds a stored session.
    #[must_use]
    pub fn restore(state: SessionState) -> Self {
        Self { state, spent: Vec::new() }
    }

    /// Refreshes with the token the repository found as `presented`: the live token is
    /// spent and `next` becomes the live one, valid for `lifetime` from `now`. A spent
    /// token presented again is taken for a stolen copy and revokes the session
    /// (OAuth 2.0 Security BCP, RFC 9700 §4.14.2).
    ///
    /// # Errors
    /// `Reused` (the session is now revoked: store it), `Revoked`, `Expired`.
    pub fn refresh(
        &mut self,
        presented: PresentedToken,
        next: RefreshDigest,
        now: OffsetDateTime,
        lifetime: Duration,
    ) -> Result<(), RefreshRefusal> {
        match presented {
            PresentedToken::Spent => {
                self.revoke(now);
                Err(RefreshRefusal::Reused)
            }
            PresentedToken::Live if self.state.revoked_at.is_some() => Err(RefreshRefusal::Revoked),
            PresentedToken::Live if now >= self.state.refresh_expires_at => Err(RefreshRefusal::Expired),
            PresentedToken::Live => {
                self.spent.push(self.state.refresh);
                self.state.refresh = next;
                self.state.refresh_expires_at = now + lifetime;
                self.state.last_used_at = now;
                Ok(())
            }
        }
    }

    /// Ends the session: its refresh token and access tokens are refused from now on.
    /// Returns `false` when it was revoked already (the first revocation time stays).
    pub fn revoke(&mut self, now: OffsetDateTime) -> bool {
        if self.state.revoked_at.is_some() {
            return false;
        }
        self.state.revoked_at = Some(now);
        true
    }

    #[must_use]
    pub fn is_revoked(&self) -> bool {
        self.state.revoked_at.is_some()
    }

    #[must_use]
    pub fn id(&self) -> SessionId {
        self.state.id
    }

    #[must_use]
    pub fn user(&self) -> UserId {
        self.state.user
    }

    #[must_use]
    pub fn state(&self) -> &SessionState {
        &self.state
    }

    /// Refresh tokens spent since the session was loaded.
    #[must_use]
    pub fn spent_tokens(&self) -> &[RefreshDigest] {
        &self.spent
    }

    /// Called by the repository once the new state is stored.
    pub fn mark_saved(&mut self) {
        self.state.version += 1;
        self.spent.clear();
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-12-02 10:00:00 UTC);
    const DAY: Duration = Duration::from_secs(86_400);

    fn digest(byte: u8) -> RefreshDigest {
        RefreshDigest::from_bytes([byte; 32])
    }

    fn session() -> Session {
        Session::open(SessionId::generate(), UserId::generate(), UserAgent::parse("curl/8"), digest(1), NOW, DAY)
    }

    #[test]
    fn a_new_session_is_live_with_its_first_token_valid_for_the_lifetime() {
        let session = session();
        assert!(!session.is_revoked());
        assert_eq!(session.state().refresh, digest(1));
        assert_eq!(session.state().refresh_expires_at, NOW + DAY);
        assert_eq!((session.state().created_at, session.state().last_used_at), (NOW, NOW));
    }

    #[test]
    fn a_refresh_spends_the_live_token_and_starts_a_new_lifetime() {
        let mut session = session();
        let later = NOW + Duration::from_secs(3600);
        session.refresh(PresentedToken::Live, digest(2), later, DAY).unwrap();
        assert_eq!(session.state().refresh, digest(2));
        assert_eq!(session.state().refresh_expires_at, later + DAY);
        assert_eq!(session.state().last_used_at, later);
        assert_eq!(session.spent_tokens(), [digest(1)]);
        session.mark_saved();
        assert!(session.spent_tokens().is_empty());
    }

    #[test]
    fn a_spent_token_presented_again_revokes_the_session() {
        let mut session = session();
        let outcome = session.refresh(PresentedToken::Spent, digest(3), NOW, DAY);
        assert_eq!(outcome, Err(RefreshRefusal::Reused));
        assert!(session.is_revoked());
        assert_eq!(session.state().refresh, digest(1), "no new token for a thief");
    }

    #[test]
    fn an_expired_token_is_refused_and_changes_nothing() {
        let mut session = session();
        let outcome = session.refresh(PresentedToken::Live, digest(2), NOW + DAY, DAY);
        assert_eq!(outcome, Err(RefreshRefusal::Expired));
        assert_eq!(session.state().refresh, digest(1));
        assert!(!session.is_revoked());
    }

    #[test]
    fn a_revoked_session_refreshes_no_more_and_keeps_its_first_revocation_time() {
        let mut session = session();
        assert!(session.revoke(NOW));
        assert!(!session.revoke(NOW + DAY));
        assert_eq!(session.state().revoked_at, Some(NOW));
        assert_eq!(session.refresh(PresentedToken::Live, digest(2), NOW, DAY), Err(RefreshRefusal::Revoked));
    }

    #[test]
    fn a_user_agent_keeps_its_first_256_characters_without_control_characters() {
        let long = "é".repeat(300);
        assert_eq!(UserAgent::parse(&long).unwrap().as_str().chars().count(), 256);
        assert_eq!(UserAgent::parse("Firefox\r\n/1\u{0}").unwrap().as_str(), "Firefox/1");
        assert_eq!(UserAgent::parse("  \t "), None);
    }

    #[test]
    fn a_session_id_round_trips_through_text_and_refuses_what_is_not_a_uuid() {
        let id = SessionId::generate();
        assert_eq!(id.to_string().parse::<SessionId>().unwrap(), id);
        assert!("not-a-session".parse::<SessionId>().is_err());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn a_user_agent_is_what_is_left_of_the_visible_text_and_a_fixed_point(
            raw in prop_oneof![any::<String>(), "[ -~\t\r\n\u{0}\u{85}\u{e9}]{0,300}"],
        ) {
            if let Some(agent) = UserAgent::parse(&raw) {
                let kept = agent.as_str();
                prop_assert!(!kept.is_empty());
                prop_assert!(kept.chars().count() <= UserAgent::MAX_CHARS);
                prop_assert!(!kept.chars().any(char::is_control));
                prop_assert_eq!(kept.trim(), kept);
                let again = UserAgent::parse(kept);
                prop_assert_eq!(again.as_ref().map(UserAgent::as_str), Some(kept));
            } else {
                prop_assert!(raw.chars().filter(|c| !c.is_control()).take(UserAgent::MAX_CHARS).all(char::is_whitespace));
            }
        }
    }
}
