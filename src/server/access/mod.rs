//! Who may do what, through every entry point: the session check in front of every FHIR
//! route, the one gate every interaction passes (REST, batch and transaction entries,
//! `_include`/`_revinclude`, history, `$everything`, search filters, conditional operations),
//! the audit record each request leaves, and the `/auth` routes.

pub mod gate;
pub mod record;
pub mod routes;
pub mod session;

pub use gate::{Gate, forbidden};
pub use record::{AuditNote, EntryAudit, RequestAudit, agent};
pub use session::{ClientAddr, RefusalLog, require_session};
