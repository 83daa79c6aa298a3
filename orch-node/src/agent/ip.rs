//! Pod IP allocation from the node's pod range (`spec.podCIDR`, else the agent's own).

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Mutex;

/// An IPv4 range in CIDR form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Cidr {
    /// Network address.
    pub network: Ipv4Addr,
    /// Prefix length.
    pub prefix: u8,
}

impl Ipv4Cidr {
    /// Parses `a.b.c.d/n`; `None` when malformed or not IPv4.
    pub fn parse(s: &str) -> Option<Self> {
        let (addr, prefix) = s.trim().split_once('/')?;
        let addr: Ipv4Addr = addr.parse().ok()?;
        let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32)?;
        let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
        Some(Ipv4Cidr { network: Ipv4Addr::from(u32::from(addr) & mask), prefix })
    }

    /// Whether `ip` is in the range.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let mask = if self.prefix == 0 { 0 } else { u32::MAX << (32 - self.prefix) };
        u32::from(ip) & mask == u32::from(self.network)
    }

    /// Usable host addresses: all but the network and broadcast addresses (for prefixes up to /30).
    fn hosts(&self) -> impl Iterator<Item = Ipv4Addr> {
        let base = u32::from(self.network) as u64;
        let size = 1u64 << (32 - self.prefix);
        let (first, last) = if size > 2 { (base + 1, base + size - 2) } else { (base, base + size - 1) };
        (first..=last).map(|n| Ipv4Addr::from(n as u32))
    }
}

impl std::fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// Hands out pod IPs, one per pod uid, from the current range.
#[derive(Debug)]
pub struct PodIpAllocator {
    inner: Mutex<AllocState>,
}

#[derive(Debug)]
struct AllocState {
    range: Ipv4Cidr,
    by_pod: HashMap<String, Ipv4Addr>,
}

impl PodIpAllocator {
    /// An allocator over `range`.
    pub fn new(range: Ipv4Cidr) -> Self {
        PodIpAllocator { inner: Mutex::new(AllocState { range, by_pod: HashMap::new() }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, AllocState> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Switches to a new range for future allocations (pods keep their addresses).
    pub fn set_range(&self, range: Ipv4Cidr) {
        self.lock().range = range;
    }

    /// The current range.
    pub fn range(&self) -> Ipv4Cidr {
        self.lock().range
    }

    /// The pod's address: the one it has, else `preferred` when in range and free, else the
    /// first free one. `None` when the range is full.
    pub fn allocate(&self, pod_uid: &str, preferred: Option<Ipv4Addr>) -> Option<Ipv4Addr> {
        let mut s = self.lock();
        if let Some(ip) = s.by_pod.get(pod_uid) {
            return Some(*ip);
        }
        let taken = |s: &AllocState, ip: Ipv4Addr| s.by_pod.values().any(|v| *v == ip);
        let ip = match preferred.filter(|ip| s.range.contains(*ip) && !taken(&s, *ip)) {
            Some(ip) => ip,
            None => {
                let used: std::collections::HashSet<Ipv4Addr> = s.by_pod.values().copied().collect();
                s.range.hosts().find(|ip| !used.contains(ip))?
            }
        };
        s.by_pod.insert(pod_uid.to_owned(), ip);
        Some(ip)
    }

    /// Frees the pod's address.
    pub fn release(&self, pod_uid: &str) {
        self.lock().by_pod.remove(pod_uid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_get_distinct_addresses_and_keep_them() {
        let a = PodIpAllocator::new(Ipv4Cidr::parse("127.64.3.0/24").unwrap());
        let x = a.allocate("x", None).unwrap();
        let y = a.allocate("y", None).unwrap();
        assert_eq!(x, Ipv4Addr::new(127, 64, 3, 1));
        assert_eq!(y, Ipv4Addr::new(127, 64, 3, 2));
        assert_eq!(a.allocate("x", None), Some(x));
        a.release("x");
        let z = a.allocate("z", Some(Ipv4Addr::new(127, 64, 3, 9))).unwrap();
        assert_eq!(z, Ipv4Addr::new(127, 64, 3, 9));
        assert_eq!(a.allocate("w", Some(Ipv4Addr::new(10, 0, 0, 1))), Some(x));
    }

    #[test]
    fn a_full_range_allocates_nothing() {
        let a = PodIpAllocator::new(Ipv4Cidr::parse("127.64.0.0/30").unwrap());
        assert!(a.allocate("a", None).is_some());
        assert!(a.allocate("b", None).is_some());
        assert_eq!(a.allocate("c", None), None);
    }
}
