//! What can go wrong in the store, with messages written for the person reading the
//! OperationOutcome. Messages carry resource types and ids, never resource content.

use crate::fhir::IssueCode;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Invalid(String),
    #[error("resource type '{0}' is not supported by this server")]
    UnknownType(String),
    #[error("{0}/{1} was not found")]
    NotFound(String, String),
    #[error("{0}/{1} has been deleted")]
    Gone(String, String),
    #[error(
        "version {expected} was expected but the current version is {current}: someone else changed this record; reload it and try again"
    )]
    VersionConflict { expected: String, current: i64 },
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotSupported(String),
    /// A request over one of the server's limits (the message names it).
    #[error("{0}")]
    TooCostly(String),
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("no database connection available: {0}")]
    Pool(#[from] super::pool::PoolError),
    #[error(
        "the database was written by a different version of bedside (schema {found}, this build reads {expected})"
    )]
    Schema { found: i64, expected: i64 },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    pub fn invalid(msg: impl Into<String>) -> Self {
        StoreError::Invalid(msg.into())
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            StoreError::Invalid(_) => 400,
            StoreError::UnknownType(_) | StoreError::NotFound(..) => 404,
            StoreError::Gone(..) => 410,
            StoreError::VersionConflict { .. } | StoreError::PreconditionFailed(_) => 412,
            StoreError::Conflict(_) => 409,
            StoreError::NotSupported(_) | StoreError::TooCostly(_) => 400,
            StoreError::Db(e) if is_busy(e) => 503,
            // The disk (or the database's quota) is full, or it went read-only: nothing was
            // stored, and it passes once an administrator has made room.
            StoreError::Db(e) if storage_problem(e).is_some() => 503,
            StoreError::Pool(_) => 503,
            StoreError::Db(_) | StoreError::Schema { .. } => 500,
        }
    }

    pub fn issue_code(&self) -> IssueCode {
        match self {
            StoreError::Invalid(_) => IssueCode::Invalid,
            StoreError::UnknownType(_) | StoreError::NotSupported(_) => IssueCode::NotSupported,
            StoreError::NotFound(..) => IssueCode::NotFound,
            StoreError::TooCostly(_) => IssueCode::TooCostly,
            StoreError::Gone(..) => IssueCode::Deleted,
            StoreError::VersionConflict { .. } | StoreError::Conflict(_) => IssueCode::Conflict,
            StoreError::PreconditionFailed(_) => IssueCode::Duplicate,
            StoreError::Db(_) | StoreError::Pool(_) | StoreError::Schema { .. } => {
                IssueCode::Exception
            }
        }
    }
}

impl StoreError {
    /// The message a client may see: internal errors (the database's own text, which can
    /// quote SQL) are replaced by a plain sentence; the detail goes to the server log only.
    pub fn public_message(&self) -> String {
        match self {
            StoreError::Db(e) if is_busy(e) => {
                "the database is busy; try again in a moment".to_string()
            }
            StoreError::Db(e) if storage_problem(e).is_some() => {
                storage_problem(e).unwrap_or_default().to_string()
            }
            StoreError::Db(_) | StoreError::Schema { .. } => {
                "the server could not complete this request (an internal database error; the detail is in the server log)".to_string()
            }
            StoreError::Pool(_) => {
                "the server is out of database connections; try again in a moment".to_string()
            }
            other => other.to_string(),
        }
    }
}

/// What a storage failure means for the person who sent the request (never the SQL).
pub fn storage_problem(e: &rusqlite::Error) -> Option<&'static str> {
    use rusqlite::ErrorCode::*;
    match e.sqlite_error_code()? {
        DiskFull => Some(
            "the server's disk is full (or its database reached the size it may grow to): nothing was stored; reads still work; an administrator must make room, then try again",
        ),
        ReadOnly => Some(
            "the server's database is read-only just now: nothing was stored; an administrator must make it writable, then try again",
        ),
        SystemIoFailure => Some(
            "the server could not write to its disk: nothing was stored; an administrator must check the disk, then try again",
        ),
        DatabaseCorrupt | NotADatabase => Some(
            "the server's database file is damaged: nothing was stored; an administrator must restore it from a backup",
        ),
        _ => None,
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}
