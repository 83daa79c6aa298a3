//! Failover: which failed etcd calls certainly had no effect, and the loop that sends those
//! again — to another endpoint, as the balanced channel picks — within the request timeout.
//!
//! A call is sent again only when etcd cannot have acted on it:
//! - the connection to the chosen endpoint could not be established (the member is down): the
//!   request never left this process;
//! - etcd answered `etcdserver: no leader`: with `require_leader` etcd's interceptor rejects the
//!   request before any handler runs (lease calls return it too, only before forwarding).
//!
//! Everything else — a connection lost with the request in flight, `request timed out`, a
//! dropped proposal — has an unknown outcome and is returned to the caller: sending a write
//! again then could apply it twice, after a write of someone else.

use std::error::Error;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// The gRPC code `Unavailable`.
const UNAVAILABLE: i32 = 14;
/// The first pause before sending a call again; it doubles up to [`MAX_DELAY`].
const FIRST_DELAY: Duration = Duration::from_millis(20);
/// The longest pause between two attempts.
const MAX_DELAY: Duration = Duration::from_millis(250);

/// How a call sent (perhaps several times) within its time limit ended without an answer.
#[derive(Debug)]
pub(crate) enum Failed<E> {
    /// The time limit passed while an attempt was in flight: the outcome is unknown.
    TimedOut,
    /// The last attempt failed with this error (not safe to send again, or no time left).
    Error(E),
}

/// Whether a failed etcd call certainly had no effect, so sending it again is safe.
pub(crate) fn not_applied(err: &etcd_client::Error) -> bool {
    match err {
        etcd_client::Error::GRpcStatus(status) => {
            status_not_applied(status.code() as i32, status.message(), Error::source(status))
        }
        _ => false,
    }
}

/// Whether a gRPC status (code, message, and the error chain behind it) says the request was
/// rejected before etcd acted on it or never sent.
pub(crate) fn status_not_applied(code: i32, message: &str, source: Option<&(dyn Error + 'static)>) -> bool {
    if code != UNAVAILABLE {
        return false;
    }
    if message == "etcdserver: no leader" {
        return true;
    }
    // tonic reports a failed connect as Unavailable with the connector's message.
    if message.contains("tcp connect error") || message.contains("error trying to connect") {
        return true;
    }
    let mut next = source;
    while let Some(err) = next {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return true;
        }
        next = err.source();
    }
    false
}

/// Runs `attempt` until it succeeds, fails in a way `retry` does not accept, or `limit` passes,
/// pausing between attempts (20 ms doubling to 250 ms). When no time is left for another
/// attempt, the last error is returned; when `limit` passes during an attempt, `TimedOut`.
pub(crate) async fn with_retries<T, E, F, Fut>(
    limit: Duration,
    retry: impl Fn(&E) -> bool,
    mut attempt: F,
) -> Result<T, Failed<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = Instant::now() + limit;
    let mut delay = FIRST_DELAY;
    loop {
        match tokio::time::timeout_at(deadline, attempt()).await {
            Err(_) => return Err(Failed::TimedOut),
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(e)) if retry(&e) && Instant::now() + delay < deadline => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_DELAY);
            }
            Ok(Err(e)) => return Err(Failed::Error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[derive(Debug)]
    struct Wrapped(std::io::Error);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "connect failed")
        }
    }

    impl Error for Wrapped {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn only_failures_before_etcd_acted_are_safe_to_send_again() {
        let cases: &[(i32, &str, bool)] = &[
            (UNAVAILABLE, "etcdserver: no leader", true),
            (UNAVAILABLE, "tcp connect error", true),
            (UNAVAILABLE, "error trying to connect: tcp connect error: Connection refused (os error 111)", true),
            // The request may have been applied: the outcome is unknown.
            (UNAVAILABLE, "etcdserver: request timed out", false),
            (UNAVAILABLE, "etcdserver: request timed out, possibly due to previous leader failure", false),
            (UNAVAILABLE, "error reading a body from connection: connection reset", false),
            (UNAVAILABLE, "transport error", false),
            (2, "raft proposal dropped", false),
            (4, "context deadline exceeded", false),
            // The same text under another code is not ours to guess about.
            (2, "etcdserver: no leader", false),
        ];
        for (code, message, want) in cases {
            assert_eq!(status_not_applied(*code, message, None), *want, "{code} {message}");
        }
    }

    #[test]
    fn a_refused_connection_in_the_error_chain_is_safe_to_send_again() {
        let refused = Wrapped(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(status_not_applied(UNAVAILABLE, "transport error", Some(&refused)));
        let reset = Wrapped(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(!status_not_applied(UNAVAILABLE, "transport error", Some(&reset)));
    }

    #[tokio::test]
    async fn retryable_failures_are_sent_again_until_one_succeeds() {
        let attempts = AtomicUsize::new(0);
        let result = with_retries(
            Duration::from_secs(5),
            |e: &&str| *e == "refused",
            || {
                let n = attempts.fetch_add(1, Ordering::SeqCst);
                async move { if n < 2 { Err("refused") } else { Ok(n) } }
            },
        )
        .await;
        assert!(matches!(result, Ok(2)), "{result:?}");
        assert_eq!(attempts.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn other_failures_are_returned_at_once() {
        let attempts = AtomicUsize::new(0);
        let result: Result<(), _> = with_retries(
            Duration::from_secs(5),
            |e: &&str| *e == "refused",
            || {
                attempts.fetch_add(1, Ordering::SeqCst);
                async { Err("reset") }
            },
        )
        .await;
        assert!(matches!(result, Err(Failed::Error("reset"))), "{result:?}");
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn when_time_runs_out_the_last_error_or_a_timeout_is_returned() {
        let result: Result<(), _> =
            with_retries(Duration::from_millis(200), |_: &&str| true, || async { Err("no leader") }).await;
        assert!(matches!(result, Err(Failed::Error("no leader"))), "{result:?}");

        let hung: Result<(), Failed<&str>> =
            with_retries(Duration::from_millis(50), |_: &&str| true, futures::future::pending).await;
        assert!(matches!(hung, Err(Failed::TimedOut)), "{hung:?}");
    }
}
