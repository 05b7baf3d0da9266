//! Progress on stderr with flux's marks: `►` an action, `◎` a wait, `✔` a success,
//! `⚠️` a warning, `✗` a failure (flux2 `cmd/flux/log.go`).

use std::io::Write;

/// Writes progress lines to stderr.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress;

impl Progress {
    fn line(mark: &str, text: &str) {
        // Progress is best effort: a closed stderr must not fail the command.
        let _ = writeln!(std::io::stderr().lock(), "{mark} {text}");
    }

    /// `► text`: something is being done.
    pub fn action(&self, text: &str) {
        Self::line("►", text);
    }

    /// `◎ text`: waiting for something.
    pub fn waiting(&self, text: &str) {
        Self::line("◎", text);
    }

    /// `✔ text`: something succeeded.
    pub fn success(&self, text: &str) {
        Self::line("✔", text);
    }

    /// `⚠️ text`: a warning.
    pub fn warning(&self, text: &str) {
        Self::line("⚠️", text);
    }

    /// `✗ text`: a failure.
    pub fn failure(&self, text: &str) {
        Self::line("✗", text);
    }
}
