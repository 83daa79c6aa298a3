//! `wait_for`: poll a condition until it holds or a deadline passes.

use std::future::Future;
use std::time::{Duration, Instant};

/// A condition did not hold in time.
#[derive(Debug, thiserror::Error)]
#[error("timed out after {waited:?} waiting for {what}")]
pub struct WaitError {
    /// What was awaited.
    pub what: String,
    /// How long.
    pub waited: Duration,
}

/// Polls `check` every 20 ms until it returns true, or fails after `timeout`.
///
/// # Errors
/// [`WaitError`] naming `what`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// let start = std::time::Instant::now();
/// orch_tests::wait_for("a moment", Duration::from_secs(5), || async move {
///     start.elapsed() > Duration::from_millis(50)
/// })
/// .await
/// .unwrap();
/// # }
/// ```
pub async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<(), WaitError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(WaitError { what: what.to_string(), waited: start.elapsed() });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
