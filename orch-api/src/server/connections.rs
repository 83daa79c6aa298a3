//! Open connections: a bound on how many, the oldest not-yet-useful one given up first, and a kill switch each.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::Notify;

/// One accepted connection, as the rest of the server sees it (a request extension).
#[derive(Default)]
pub(crate) struct Connection {
    /// A complete request head has arrived on it.
    served: AtomicBool,
    /// It no longer counts against the limit (closed, or given up to make room).
    released: AtomicBool,
    kill: Notify,
}

impl Connection {
    /// Notes that a complete request arrived: the connection is no longer a candidate for eviction.
    pub(crate) fn mark_served(&self) {
        self.served.store(true, Ordering::Relaxed);
    }

    /// Asks the connection's task to close it (idempotent; works before the task waits).
    pub(crate) fn close(&self) {
        self.kill.notify_one();
    }

    /// Resolves when [`Connection::close`] has been called.
    pub(crate) async fn closed(&self) {
        self.kill.notified().await;
    }

    fn evictable(&self) -> bool {
        !self.served.load(Ordering::Relaxed) && !self.released.load(Ordering::Relaxed)
    }
}

/// The open connections of one listener and their limit.
pub(crate) struct Connections {
    limit: usize,
    state: Mutex<Tracked>,
    gauge: Gauge,
}

struct Tracked {
    open: usize,
    /// Connections in accept order that may not have served a request yet (pruned lazily).
    unproven: VecDeque<Arc<Connection>>,
}

/// What admitting a connection did.
pub(crate) enum Admission {
    /// Admitted within the limit.
    Admitted(Admitted),
    /// Admitted in place of the oldest connection that had not sent a complete request.
    Replaced(Admitted),
    /// At the limit with every connection serving: refuse it.
    Full,
}

/// An admitted connection; releases its place when dropped.
pub(crate) struct Admitted {
    pub(crate) connection: Arc<Connection>,
    owner: Arc<Connections>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.owner.release(&self.connection);
    }
}

impl Connections {
    /// Connections of one listener, at most `limit`, counted in `gauge`.
    pub(crate) fn new(limit: usize, gauge: Gauge) -> Arc<Self> {
        let state = Mutex::new(Tracked { open: 0, unproven: VecDeque::new() });
        Arc::new(Connections { limit: limit.max(1), state, gauge })
    }

    fn set_gauge(&self, open: usize) {
        self.gauge.set(i64::try_from(open).unwrap_or(i64::MAX));
    }

    fn lock(&self) -> MutexGuard<'_, Tracked> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many connections count against the limit now.
    #[cfg(test)]
    pub(crate) fn open(&self) -> usize {
        self.lock().open
    }

    /// Admits a new connection, giving up the oldest unproven one when at the limit.
    pub(crate) fn admit(self: &Arc<Self>) -> Admission {
        let mut st = self.lock();
        let mut replaced = false;
        if st.open >= self.limit {
            loop {
                match st.unproven.pop_front() {
                    Some(old) if old.evictable() => {
                        if !old.released.swap(true, Ordering::Relaxed) {
                            st.open -= 1;
                        }
                        old.close();
                        replaced = true;
                        break;
                    }
                    Some(_) => continue,
                    None => return Admission::Full,
                }
            }
        }
        let connection = Arc::new(Connection::default());
        st.open += 1;
        st.unproven.push_back(connection.clone());
        if st.unproven.len() > 2 * self.limit {
            st.unproven.retain(|c| c.evictable());
        }
        self.set_gauge(st.open);
        let admitted = Admitted { connection, owner: self.clone() };
        if replaced { Admission::Replaced(admitted) } else { Admission::Admitted(admitted) }
    }

    fn release(&self, connection: &Connection) {
        if !connection.released.swap(true, Ordering::Relaxed) {
            let mut st = self.lock();
            st.open = st.open.saturating_sub(1);
            self.set_gauge(st.open);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted(a: Admission) -> Admitted {
        match a {
            Admission::Admitted(x) | Admission::Replaced(x) => x,
            Admission::Full => panic!("refused"),
        }
    }

    #[test]
    fn at_the_limit_the_oldest_unproven_connection_makes_room() {
        let conns = Connections::new(2, Gauge::default());
        let first = admitted(conns.admit());
        let second = admitted(conns.admit());
        second.connection.mark_served();
        let third = conns.admit();
        assert!(matches!(third, Admission::Replaced(_)), "the idle first connection is given up");
        assert!(first.connection.released.load(Ordering::Relaxed));
        assert_eq!(conns.open(), 2);
        drop(first);
        assert_eq!(conns.open(), 2, "an evicted connection is not released twice");
    }

    #[test]
    fn at_the_limit_with_every_connection_serving_a_new_one_is_refused() {
        let conns = Connections::new(1, Gauge::default());
        let only = admitted(conns.admit());
        only.connection.mark_served();
        assert!(matches!(conns.admit(), Admission::Full));
        drop(only);
        assert_eq!(conns.open(), 0);
        assert!(matches!(conns.admit(), Admission::Admitted(_)));
    }
}
