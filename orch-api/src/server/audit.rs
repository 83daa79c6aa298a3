//! The audit log: one JSON line per mutating request.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use orch_core::runtime::Clock;
use serde::Serialize;

/// One audited request.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord<'a> {
    /// When the request finished (RFC 3339).
    pub time: String,
    /// Who made it (`system:anonymous` when auth is off).
    pub user: &'a str,
    /// The verb (`create`, `update`, `patch`, `delete`).
    pub verb: &'a str,
    /// Group of the resource.
    pub group: &'a str,
    /// Resource with subresource.
    pub resource: &'a str,
    /// Namespace.
    pub namespace: &'a str,
    /// Object name.
    pub name: &'a str,
    /// HTTP status of the answer.
    pub code: u16,
}

/// Appends audit records to a file, a line each.
pub struct AuditLog {
    out: Mutex<std::io::BufWriter<std::fs::File>>,
}

impl AuditLog {
    /// Opens (appending, creating) the audit file.
    ///
    /// # Errors
    /// The file cannot be opened.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        Ok(AuditLog { out: Mutex::new(std::io::BufWriter::new(file)) })
    }

    /// Writes one record. A failing write is reported on stderr, never to the client.
    pub fn record(&self, clock: &dyn Clock, mut rec: AuditRecord<'_>) {
        rec.time = clock.now().to_string();
        let Ok(mut line) = serde_json::to_vec(&rec) else { return };
        line.push(b'\n');
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = out.write_all(&line).and_then(|_| out.flush()) {
            eprintln!("orch-api: audit log write failed: {e}");
        }
    }
}
