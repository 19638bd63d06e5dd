//! Where each program's log goes. No patient data is ever logged.

/// The workstation's log goes to a file in the state directory (the terminal is the screen).
/// No patient data is ever logged.
#[cfg(feature = "workstation")]
pub fn workstation() {
    let Ok(dir) = crate::paths::state_dir() else {
        return;
    };
    let path = dir.join("bedside.log");
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let Ok(file) = options.open(&path) else {
        return;
    };
    // A log from an earlier version may have been created 0644.
    let _ = crate::files::make_private(&path);
    let filter = tracing_subscriber::EnvFilter::try_from_env("BEDSIDE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}

/// Server logs go to stderr: request method, route and status only, never resource content.
#[cfg(feature = "server")]
pub fn server() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BEDSIDE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .try_init();
}
