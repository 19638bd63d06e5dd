//! What the runtime reports to this feature.

use serde_json::Value;

use crate::workstation::client::{FetchError, LoginError, SignedIn};
use crate::workstation::features::access::state::*;
use crate::workstation::runtime::session::Unlocked;

/// Facts about who is at the terminal.
#[derive(Debug)]
pub enum Msg {
    /// The answer to an electronic signature check: `Ok(true)` when it was checked on this
    /// terminal (the server could not be reached; offline notes only).
    SignatureChecked {
        context: u64,
        target: SignTarget,
        result: Result<bool, FetchError>,
    },
    /// The answer to a sign-in (or unlock) attempt.
    SignedIn(Result<SignedIn, LoginError>),
    /// Time to check whether the terminal has been idle long enough to lock.
    IdleCheck,
    /// The answer to a break-the-glass request.
    GlassBroken {
        context: u64,
        /// When the emergency grant ends (epoch ms), if the server says.
        result: Result<Option<i64>, FetchError>,
    },
    /// AuditEvents for the open patient.
    AccessLog {
        context: u64,
        result: Result<Vec<Value>, FetchError>,
    },
    /// The identity provider would not renew the access token (why): the screen locks.
    RenewalFailed(String),
    /// What a new sign-in with the provider asks the user to do.
    ProviderShown(crate::workstation::client::smart::Shown),
    /// A new sign-in with the provider finished: who signed in (the runtime holds the tokens
    /// until they are accepted), or why it did not.
    ProviderSignedIn(Result<Option<String>, String>),
    /// The user's offline data (cache, outbox, drafts) is open, or why not.
    VaultOpened(Box<Result<Unlocked, String>>),
}
