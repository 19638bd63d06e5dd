//! Who is at the terminal: the signed-in user, the sign-in and lock forms, signatures, the
//! access log.

use crate::workstation::client::SignedIn;
use crate::workstation::notes::document::DocStatus;

/// Who is signed in, and the sign-in and lock screens.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// The signed-in user, when the server says who (bedside's own server).
    pub user: Option<SignedIn>,
    /// A token is held (signed in, or one given on the command line).
    pub signed_in: bool,
    /// The sign-in or lock screen, when showing: nothing else is drawn.
    pub form: Option<SignInForm>,
    /// Lock after this long without a key (0: never, for tests without sign-in).
    pub idle_ms: i64,
    pub last_input_ms: i64,
    /// Shown on the lock screen of the demo only.
    pub demo_password: Option<String>,
    /// What needs an electronic signature (config.toml `signing`).
    pub signing: crate::config::Signing,
    /// How the user got in, when not by the server's own sign-in (a token, the hospital's
    /// identity provider): named on the sign-in and lock screens.
    pub way_in: Option<String>,
    /// Signed in through the hospital's identity provider (renewed by its refresh token).
    pub provider: Option<ProviderAccess>,
}

/// A sign-in through the hospital's identity provider.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderAccess {
    /// Who signed in at start (the ID token's name): a new sign-in must be them.
    pub who: Option<String>,
    /// What a new sign-in asks the user to do (a link, a code), while one is under way.
    pub shown: Option<crate::workstation::client::smart::Shown>,
}

impl Access {
    pub fn role(&self) -> Option<&str> {
        self.user.as_ref().map(|u| u.role.as_str())
    }

    /// Support staff and registration clerks see a chart's demographics only.
    pub fn demographics_only(&self) -> bool {
        matches!(self.role(), Some("support" | "clerk"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormMode {
    SignIn,
    /// A passphrase for the offline data (a server where the user has only a token): asked
    /// once per session, and to unlock.
    Passphrase,
    /// The screen is locked; the same user unlocks with their password.
    Unlock,
    /// The account has a one-time password: the user chooses their own (typed twice).
    NewPassword,
    /// The identity provider's sign-in ended: the user signs in with it again (the field is
    /// where a pasted answer goes).
    Provider,
}

#[derive(Clone, PartialEq, Eq)]
pub struct SignInForm {
    pub mode: FormMode,
    pub username: String,
    pub password: String,
    pub code: String,
    /// The server asked for a TOTP code.
    pub needs_code: bool,
    /// 0 username, 1 password (the new one when choosing), 2 code, 3 the new one again.
    pub field: usize,
    /// Choosing a new password: the one-time password it replaces.
    pub current: String,
    /// Choosing a new password: typed again.
    pub confirm: String,
    pub error: Option<String>,
    pub busy: bool,
}

// The typed password, code and one-time password are never printed.
impl std::fmt::Debug for SignInForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInForm")
            .field("mode", &self.mode)
            .field("username", &self.username)
            .field("field", &self.field)
            .field("needs_code", &self.needs_code)
            .field("error", &self.error)
            .field("busy", &self.busy)
            .finish_non_exhaustive()
    }
}

impl SignInForm {
    pub fn new(mode: FormMode, username: &str) -> SignInForm {
        SignInForm {
            mode,
            username: username.to_string(),
            password: String::new(),
            code: String::new(),
            needs_code: false,
            field: if username.is_empty() { 0 } else { 1 },
            current: String::new(),
            confirm: String::new(),
            error: None,
            busy: false,
        }
    }
}

/// One line of the access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEntry {
    pub when: String,
    pub user: String,
    pub what: String,
    pub success: bool,
    pub address: String,
    /// The resource read or written (`Observation/123`), when one was.
    pub resource: Option<String>,
    /// A search's query string.
    pub query: Option<String>,
    /// Why it failed, or what the server noted.
    pub description: Option<String>,
    /// The break-the-glass reason, when it was emergency access.
    pub emergency: Option<String>,
}

/// What an electronic signature is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignTarget {
    Note(DocStatus),
    Orders,
    /// A nurse's draft order, co-signed.
    Cosign,
}

impl SignTarget {
    /// The word the server records (no patient data).
    pub fn word(self) -> &'static str {
        match self {
            SignTarget::Note(_) => "note",
            SignTarget::Orders => "orders",
            SignTarget::Cosign => "co-signature",
        }
    }
}
