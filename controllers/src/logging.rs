//! Logs as Flux's controllers write them: one JSON object per line on stderr by default
//! (`--log-encoding json`, what log collectors in a cluster parse), or human-readable lines
//! (`--log-encoding console`), at `--log-level` (Flux's `debug`, `info`, `error`, plus `trace`).
//! `RUST_LOG`, when set, refines the level per module (`RUST_LOG=kube=debug`).

use tracing_subscriber::EnvFilter;

/// Flux's logging flags.
#[derive(Debug, Clone, clap::Args)]
pub struct LogFlags {
    /// The least severe level logged.
    #[arg(long, global = true, default_value = "info",
          value_parser = ["trace", "debug", "info", "error"])]
    pub log_level: String,
    /// How each line is written: `json` or `console`.
    #[arg(long, global = true, default_value = "json", value_parser = ["json", "console"])]
    pub log_encoding: String,
}

/// Logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// `RUST_LOG` does not parse as a filter.
    #[error("RUST_LOG is not a valid log filter: {0}")]
    Filter(#[source] tracing_subscriber::filter::ParseError),
    /// Another logger was installed first (only possible when embedding).
    #[error("a global logger is already installed")]
    AlreadySet,
}

/// Installs the process's logger. Call once, before the controllers start.
pub fn init(flags: &LogFlags) -> Result<(), LogError> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => {
            EnvFilter::try_new(format!("{},{spec}", flags.log_level)).map_err(LogError::Filter)?
        }
        _ => EnvFilter::new(&flags.log_level),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = if flags.log_encoding == "console" {
        builder.try_init()
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init()
    };
    installed.map_err(|_| LogError::AlreadySet)
}
