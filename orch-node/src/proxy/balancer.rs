//! `EndpointPool`: the live endpoints of one service port, round-robin and ClientIP affinity.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::oneshot;

use super::Affinity;

/// One backend endpoint; its connections end when it is marked gone.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub(crate) addr: SocketAddr,
    /// One sender per open connection; `None` once the endpoint is gone.
    watchers: Mutex<Option<Vec<oneshot::Sender<()>>>>,
}

impl Endpoint {
    fn new(addr: SocketAddr) -> Arc<Endpoint> {
        Arc::new(Endpoint { addr, watchers: Mutex::new(Some(Vec::new())) })
    }

    /// A signal that resolves once the endpoint has left the pool (at once if it already has).
    ///
    /// Each connection gets its own channel, so waiting costs nothing shared per wake-up.
    pub(crate) fn gone(&self) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        let mut w = self.watchers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(list) = w.as_mut() {
            // Drop the senders of connections that ended, once the list has doubled.
            if list.len() >= 64 && list.len().is_power_of_two() {
                list.retain(|s| !s.is_closed());
            }
            list.push(tx);
        }
        rx
    }

    fn mark_gone(&self) {
        // Dropping the senders resolves every receiver.
        self.watchers.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    #[cfg(test)]
    fn is_gone(&self) -> bool {
        self.watchers.lock().unwrap_or_else(|p| p.into_inner()).is_none()
    }
}

#[derive(Debug, Default)]
struct PoolState {
    endpoints: Vec<Arc<Endpoint>>,
    affinity: Affinity,
    sticky: HashMap<IpAddr, (Arc<Endpoint>, Instant)>,
}

/// The endpoints of one service port. Cheap to share; updated in place so the frontends and
/// connections that use it never restart.
#[derive(Debug, Default)]
pub(crate) struct EndpointPool {
    state: Mutex<PoolState>,
    next: AtomicUsize,
}

impl EndpointPool {
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Replaces the endpoint set: endpoints that stay keep their identity (and connections),
    /// endpoints that left are marked gone, which closes their connections.
    pub(crate) fn set(&self, backends: &[SocketAddr], affinity: Affinity) {
        let mut st = self.lock();
        let old = std::mem::take(&mut st.endpoints);
        let mut kept = Vec::with_capacity(backends.len());
        for addr in backends {
            match old.iter().find(|e| e.addr == *addr) {
                Some(e) => kept.push(e.clone()),
                None => kept.push(Endpoint::new(*addr)),
            }
        }
        for e in &old {
            if !backends.contains(&e.addr) {
                e.mark_gone();
            }
        }
        st.sticky.retain(|_, (e, _)| backends.contains(&e.addr));
        if affinity == Affinity::None {
            st.sticky.clear();
        }
        st.endpoints = kept;
        st.affinity = affinity;
    }

    /// Marks every endpoint gone (the service port is no longer served).
    pub(crate) fn close_all(&self) {
        let mut st = self.lock();
        for e in st.endpoints.drain(..) {
            e.mark_gone();
        }
        st.sticky.clear();
    }

    /// Chooses the endpoint for a new connection from `client` at `now`, skipping the first
    /// `skip` choices (retries after a failed connect); `None` when there are no endpoints.
    pub(crate) fn pick(&self, client: IpAddr, now: Instant, skip: usize) -> Option<Arc<Endpoint>> {
        let mut st = self.lock();
        let n = st.endpoints.len();
        if n == 0 {
            return None;
        }
        let Affinity::ClientIp { timeout } = st.affinity else {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            return st.endpoints.get(i % n).cloned();
        };
        let sticky = st.sticky.get(&client).filter(|(_, last)| now.saturating_duration_since(*last) < timeout);
        if let Some(e) = sticky.map(|(e, _)| e.clone()).filter(|_| skip == 0) {
            st.sticky.insert(client, (e.clone(), now));
            return Some(e);
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let e = st.endpoints.get(i % n).cloned()?;
        st.sticky.insert(client, (e.clone(), now));
        if st.sticky.len() > 4 * 65536 {
            st.sticky.retain(|_, (_, last)| now.saturating_duration_since(*last) < timeout);
        }
        Some(e)
    }

    /// Number of endpoints.
    pub(crate) fn len(&self) -> usize {
        self.lock().endpoints.len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn addrs(n: u8) -> Vec<SocketAddr> {
        (1..=n).map(|i| SocketAddr::from(([127, 64, 0, i], 80))).collect()
    }

    const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn round_robin_visits_every_endpoint_in_turn() {
        let pool = EndpointPool::default();
        pool.set(&addrs(3), Affinity::None);
        let now = Instant::now();
        let picks: Vec<_> = (0..6).map(|_| pool.pick(CLIENT, now, 0).unwrap().addr).collect();
        assert_eq!(&picks[..3], &picks[3..]);
        let mut first: Vec<_> = picks[..3].to_vec();
        first.sort();
        assert_eq!(first, addrs(3));
    }

    #[test]
    fn empty_pool_picks_nothing() {
        assert!(EndpointPool::default().pick(CLIENT, Instant::now(), 0).is_none());
    }

    #[test]
    fn client_ip_affinity_sticks_until_the_timeout() {
        let pool = EndpointPool::default();
        pool.set(&addrs(3), Affinity::ClientIp { timeout: Duration::from_secs(10) });
        let t0 = Instant::now();
        let first = pool.pick(CLIENT, t0, 0).unwrap().addr;
        for i in 1..5 {
            assert_eq!(pool.pick(CLIENT, t0 + Duration::from_secs(i), 0).unwrap().addr, first);
        }
        // Idle past the timeout: a fresh round-robin choice.
        let later = pool.pick(CLIENT, t0 + Duration::from_secs(30), 0).unwrap().addr;
        assert_ne!(later, first);
    }

    #[test]
    fn removed_endpoint_is_marked_gone_and_kept_ones_keep_identity() {
        let pool = EndpointPool::default();
        pool.set(&addrs(2), Affinity::None);
        let a = pool.pick(CLIENT, Instant::now(), 0).unwrap();
        let b = pool.pick(CLIENT, Instant::now(), 0).unwrap();
        pool.set(&[a.addr], Affinity::None);
        assert!(!a.is_gone());
        assert!(b.is_gone());
        assert!(Arc::ptr_eq(&pool.pick(CLIENT, Instant::now(), 0).unwrap(), &a));
    }

    #[test]
    fn sticky_client_moves_when_its_endpoint_leaves() {
        let pool = EndpointPool::default();
        pool.set(&addrs(2), Affinity::ClientIp { timeout: Duration::from_secs(100) });
        let now = Instant::now();
        let first = pool.pick(CLIENT, now, 0).unwrap().addr;
        let other: Vec<_> = addrs(2).into_iter().filter(|a| *a != first).collect();
        pool.set(&other, Affinity::ClientIp { timeout: Duration::from_secs(100) });
        assert_eq!(pool.pick(CLIENT, now, 0).unwrap().addr, other[0]);
    }
}
