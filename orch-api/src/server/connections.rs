//! Open connections: a bound on how many, the least recently active idle one given up first, and a kill switch each.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::Notify;

/// Orders activity across connections: a tick per accept, request start and request end.
static ACTIVITY: AtomicU64 = AtomicU64::new(0);

fn tick() -> u64 {
    ACTIVITY.fetch_add(1, Ordering::Relaxed)
}

/// One accepted connection, as the rest of the server sees it (a request extension).
pub(crate) struct Connection {
    /// When it was last accepted, started or finished a request (an [`ACTIVITY`] tick).
    last_active: AtomicU64,
    /// Requests whose response has not been sent completely yet (a watch stays in flight).
    in_flight: AtomicUsize,
    /// Requests in flight whose body is still arriving.
    receiving: AtomicUsize,
    /// It no longer counts against the limit (closed, or given up to make room).
    released: AtomicBool,
    kill: Notify,
}

impl Connection {
    /// Asks the connection's task to close it (idempotent; works before the task waits).
    pub(crate) fn close(&self) {
        self.kill.notify_one();
    }

    /// Resolves when [`Connection::close`] has been called.
    pub(crate) async fn closed(&self) {
        self.kill.notified().await;
    }

    /// Counts a request as in flight until the returned guard drops (with its response body).
    pub(crate) fn enter(self: &Arc<Self>) -> InFlight {
        self.last_active.store(tick(), Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// Counts a request's body as still arriving until the returned guard drops.
    pub(crate) fn receiving_body(self: &Arc<Self>) -> Receiving {
        self.receiving.fetch_add(1, Ordering::Relaxed);
        Receiving(self.clone())
    }

    fn released(&self) -> bool {
        self.released.load(Ordering::Relaxed)
    }

    /// Has no request in flight: never sent a complete one (idle from the start, slowloris), or
    /// waits for the next one (keep-alive).
    fn idle(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) == 0 && !self.released()
    }

    /// May be given up to make room: idle, or only waiting for request bodies (a slow-body
    /// attacker is no safer than a slowloris one).
    fn evictable(&self) -> bool {
        self.idle()
            || (!self.released() && self.in_flight.load(Ordering::Relaxed) <= self.receiving.load(Ordering::Relaxed))
    }
}

/// A request body still arriving; see [`Connection::receiving_body`].
pub(crate) struct Receiving(Arc<Connection>);

impl Drop for Receiving {
    fn drop(&mut self) {
        self.0.receiving.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A request in flight on a connection; see [`Connection::enter`].
pub(crate) struct InFlight(Arc<Connection>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.last_active.store(tick(), Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
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
    /// Connections in accept order (released ones pruned lazily).
    order: VecDeque<Arc<Connection>>,
}

/// What admitting a connection did.
pub(crate) enum Admission {
    /// Admitted within the limit.
    Admitted(Admitted),
    /// Admitted in place of the least recently active idle connection.
    Replaced(Admitted),
    /// At the limit with a request in flight on every connection: refuse it.
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
        let state = Mutex::new(Tracked { open: 0, order: VecDeque::new() });
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

    /// Admits a new connection. At the limit it takes the place of the connection, idle or
    /// only waiting for a request body, that was active least recently: a connection that never
    /// sent a complete request counts as active when it was accepted, so idle, slowloris and
    /// slow-body attackers go before a client that just connected or just finished a request.
    /// When every connection has a request being served the new one is refused.
    pub(crate) fn admit(self: &Arc<Self>) -> Admission {
        let mut st = self.lock();
        while st.order.front().is_some_and(|c| c.released()) {
            st.order.pop_front();
        }
        let mut replaced = false;
        if st.open >= self.limit {
            let victim = st
                .order
                .iter()
                .enumerate()
                .filter(|(_, c)| c.evictable())
                .min_by_key(|(_, c)| c.last_active.load(Ordering::Relaxed))
                .map(|(i, _)| i);
            let Some(old) = victim.and_then(|i| st.order.remove(i)) else { return Admission::Full };
            if !old.released.swap(true, Ordering::Relaxed) {
                st.open -= 1;
            }
            old.close();
            replaced = true;
        }
        let connection = Arc::new(Connection {
            last_active: AtomicU64::new(tick()),
            in_flight: AtomicUsize::new(0),
            receiving: AtomicUsize::new(0),
            released: AtomicBool::new(false),
            kill: Notify::new(),
        });
        st.open += 1;
        st.order.push_back(connection.clone());
        if st.order.len() > 2 * self.limit {
            st.order.retain(|c| !c.released());
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
    fn at_the_limit_the_least_recently_active_idle_connection_makes_room() {
        let conns = Connections::new(2, Gauge::default());
        let first = admitted(conns.admit());
        let second = admitted(conns.admit());
        let Admission::Replaced(_third) = conns.admit() else { panic!("not replaced") };
        assert!(first.connection.released() && !second.connection.released(), "the older idle one went");
        assert_eq!(conns.open(), 2);
        drop(first);
        assert_eq!(conns.open(), 2, "an evicted connection is not released twice");
    }

    #[test]
    fn a_recently_active_connection_stays_and_a_busy_one_is_never_given_up() {
        let conns = Connections::new(2, Gauge::default());
        let (old, newer) = (admitted(conns.admit()), admitted(conns.admit()));
        drop(old.connection.enter());
        let Admission::Replaced(third) = conns.admit() else { panic!("not replaced") };
        assert!(newer.connection.released() && !old.connection.released(), "the one idle for longest went");
        let _busy = old.connection.enter();
        let Admission::Replaced(_fourth) = conns.admit() else { panic!("not replaced") };
        assert!(third.connection.released(), "the idle one went");
        assert!(!old.connection.released(), "a connection with a request in flight stays");
    }

    #[test]
    fn a_connection_only_waiting_for_a_body_can_be_given_up() {
        let conns = Connections::new(1, Gauge::default());
        let slow = admitted(conns.admit());
        let _request = slow.connection.enter();
        let receiving = slow.connection.receiving_body();
        let Admission::Replaced(_next) = conns.admit() else { panic!("not replaced") };
        assert!(slow.connection.released());
        drop(receiving);
    }

    #[test]
    fn at_the_limit_with_every_connection_busy_a_new_one_is_refused() {
        let conns = Connections::new(1, Gauge::default());
        let only = admitted(conns.admit());
        let request = only.connection.enter();
        assert!(matches!(conns.admit(), Admission::Full));
        drop(request);
        drop(only);
        assert_eq!(conns.open(), 0);
        assert!(matches!(conns.admit(), Admission::Admitted(_)));
    }
}
