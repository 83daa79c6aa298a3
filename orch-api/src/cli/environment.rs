//! `Environment`: what `orchctl` reads from the process besides its arguments (KUBECONFIG, HOME, whether stdout is a terminal, stdin).

use std::ffi::OsString;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;

/// Where `apply -f -` reads from.
#[derive(Clone, Debug, Default)]
pub enum Stdin {
    /// The process's standard input.
    #[default]
    Process,
    /// This text (tests and embedding programs).
    Text(String),
}

impl Stdin {
    /// Reads all of it.
    ///
    /// # Errors
    /// When the process's standard input cannot be read.
    pub fn read_all(&self) -> std::io::Result<Vec<u8>> {
        match self {
            Stdin::Process => {
                let mut buf = Vec::new();
                std::io::stdin().lock().read_to_end(&mut buf)?;
                Ok(buf)
            }
            Stdin::Text(t) => Ok(t.clone().into_bytes()),
        }
    }
}

/// The process context of a run, passed in so tests never touch real environment variables.
///
/// ```
/// use orch_api::Environment;
/// let env = Environment::default().kubeconfig("/tmp/a:/tmp/b").stdin_text("apiVersion: v1\n");
/// assert!(env.home.is_none() && !env.terminal);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Environment {
    /// The `KUBECONFIG` variable: a list of files separated by `:`.
    pub kubeconfig: Option<OsString>,
    /// The home directory (for `~/.kube/config`).
    pub home: Option<PathBuf>,
    /// Whether the output is a terminal (then `rollout status` draws a live bar).
    pub terminal: bool,
    /// Standard input.
    pub stdin: Stdin,
}

impl Environment {
    /// The real process: `KUBECONFIG`, `HOME`, and whether stdout is a terminal.
    pub fn from_process() -> Self {
        Environment {
            kubeconfig: std::env::var_os("KUBECONFIG"),
            home: std::env::var_os("HOME").map(PathBuf::from),
            terminal: std::io::stdout().is_terminal(),
            stdin: Stdin::Process,
        }
    }
    /// Sets `KUBECONFIG`.
    pub fn kubeconfig(mut self, list: impl Into<OsString>) -> Self {
        self.kubeconfig = Some(list.into());
        self
    }
    /// Sets the home directory.
    pub fn home(mut self, home: impl Into<PathBuf>) -> Self {
        self.home = Some(home.into());
        self
    }
    /// Says whether the output is a terminal.
    pub fn terminal(mut self, terminal: bool) -> Self {
        self.terminal = terminal;
        self
    }
    /// Serves this text as standard input.
    pub fn stdin_text(mut self, text: impl Into<String>) -> Self {
        self.stdin = Stdin::Text(text.into());
        self
    }
}
