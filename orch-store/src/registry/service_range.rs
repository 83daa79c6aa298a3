//! `ServiceRanges`: the ClusterIP range and the NodePort range the Registry allocates from.

use std::net::Ipv4Addr;

/// Where ClusterIPs and NodePorts come from. Defaults follow the address plan: ClusterIPs in
/// `127.192.0.0/12` (so they need no root and no routes) and NodePorts in 30000–32767.
///
/// ```
/// use orch_store::registry::ServiceRanges;
/// let r = ServiceRanges::default();
/// assert_eq!(r.cidr(), "127.192.0.0/12");
/// assert!(r.contains_ip("127.192.0.10".parse().unwrap()));
/// assert!(!r.contains_ip("10.0.0.1".parse().unwrap()));
/// let small = ServiceRanges::new("127.200.0.0".parse().unwrap(), 30, 31000, 31001).unwrap();
/// assert_eq!(small.ip_count(), 2, "network and broadcast addresses are never handed out");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRanges {
    base: u32,
    prefix: u8,
    ports: (u16, u16),
}

impl Default for ServiceRanges {
    fn default() -> Self {
        ServiceRanges { base: u32::from(Ipv4Addr::new(127, 192, 0, 0)), prefix: 12, ports: (30000, 32767) }
    }
}

impl ServiceRanges {
    /// Ranges from a network address, prefix length and node port bounds (inclusive).
    ///
    /// # Errors
    /// A message when the prefix is not 1–30, the address has host bits set, or the ports are reversed.
    pub fn new(network: Ipv4Addr, prefix: u8, first_port: u16, last_port: u16) -> Result<Self, String> {
        if !(1..=30).contains(&prefix) {
            return Err(format!("service range prefix /{prefix} must be between /1 and /30"));
        }
        let base = u32::from(network);
        if base & (u32::MAX >> prefix) != 0 {
            return Err(format!("{network}/{prefix} has host bits set"));
        }
        if first_port == 0 || first_port > last_port {
            return Err(format!("node port range {first_port}-{last_port} is empty"));
        }
        Ok(ServiceRanges { base, prefix, ports: (first_port, last_port) })
    }

    /// The ClusterIP range in CIDR form.
    pub fn cidr(&self) -> String {
        format!("{}/{}", Ipv4Addr::from(self.base), self.prefix)
    }

    /// The NodePort range as `first-last`.
    pub fn port_range(&self) -> String {
        format!("{}-{}", self.ports.0, self.ports.1)
    }

    /// How many ClusterIPs can be handed out (the network and broadcast addresses are not).
    pub fn ip_count(&self) -> u32 {
        (1u32 << (32 - self.prefix)) - 2
    }

    /// The `n`-th assignable ClusterIP (`n < ip_count()`).
    pub fn nth_ip(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(self.base + 1 + n)
    }

    /// Whether `ip` is an assignable address of the range.
    pub fn contains_ip(&self, ip: Ipv4Addr) -> bool {
        let v = u32::from(ip);
        v > self.base && v - self.base <= self.ip_count()
    }

    /// How many NodePorts the range holds.
    pub fn port_count(&self) -> u32 {
        u32::from(self.ports.1 - self.ports.0) + 1
    }

    /// The `n`-th NodePort (`n < port_count()`).
    pub fn nth_port(&self, n: u32) -> u16 {
        self.ports.0 + n as u16
    }

    /// Whether `port` is in the NodePort range.
    pub fn contains_port(&self, port: u16) -> bool {
        (self.ports.0..=self.ports.1).contains(&port)
    }
}
