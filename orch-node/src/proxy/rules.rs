//! The data-path model: which frontend addresses of a service port forward to which backends.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// Session affinity in Kubernetes' default: a client sticks to one endpoint for 3 hours.
pub const DEFAULT_AFFINITY_TIMEOUT: Duration = Duration::from_secs(10800);

/// Transport protocol of a service port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// TCP (the default).
    Tcp,
    /// UDP: per-client flows with an idle timeout.
    Udp,
}

impl Protocol {
    /// Parses a Kubernetes protocol name; `None` (absent) is TCP, unknown names (SCTP) are `None`.
    pub fn from_k8s(name: Option<&str>) -> Option<Protocol> {
        match name {
            None | Some("") | Some("TCP") => Some(Protocol::Tcp),
            Some("UDP") => Some(Protocol::Udp),
            Some(_) => None,
        }
    }

    /// `TCP` or `UDP`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }
}

/// Identity of one served service port: namespace, service name, port name and protocol.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServicePortKey {
    /// Namespace of the service.
    pub namespace: String,
    /// Name of the service.
    pub name: String,
    /// Name of the port (empty for a single unnamed port).
    pub port: String,
    /// Transport protocol.
    pub protocol: Protocol,
}

impl ServicePortKey {
    /// A key for `namespace/name`, port `port` over `protocol`.
    pub fn new(namespace: &str, name: &str, port: &str, protocol: Protocol) -> Self {
        ServicePortKey { namespace: namespace.into(), name: name.into(), port: port.into(), protocol }
    }
}

impl fmt::Display for ServicePortKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}:{}/{}", self.namespace, self.name, self.port, self.protocol.as_str())
    }
}

/// How a new connection chooses its endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Affinity {
    /// Round-robin over the ready endpoints.
    #[default]
    None,
    /// The same client IP goes to the same endpoint while it keeps coming back within `timeout`.
    ///
    /// Caveat: clients on loopback all share the source address 127.0.0.1 unless they bind
    /// their own address, so they all stick to one endpoint.
    ClientIp {
        /// How long a client stays bound to its endpoint after its last connection.
        timeout: Duration,
    },
}

/// One service port as the data path sees it: serve `frontends`, forward to `backends`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePortRule {
    /// Which service port this is.
    pub key: ServicePortKey,
    /// Addresses to listen on: the ClusterIP, the NodePort on every node address, the
    /// load-balancer ingress addresses (sorted, unique).
    pub frontends: Vec<SocketAddr>,
    /// Ready endpoints with their resolved target port (sorted, unique). Empty: connections
    /// are closed at once.
    pub backends: Vec<SocketAddr>,
    /// Endpoint choice for new connections.
    pub affinity: Affinity,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_protocol_is_tcp_and_sctp_is_unsupported() {
        assert_eq!(Protocol::from_k8s(None), Some(Protocol::Tcp));
        assert_eq!(Protocol::from_k8s(Some("UDP")), Some(Protocol::Udp));
        assert_eq!(Protocol::from_k8s(Some("SCTP")), None);
    }

    #[test]
    fn key_displays_namespace_name_port_and_protocol() {
        let k = ServicePortKey::new("default", "web", "http", Protocol::Tcp);
        assert_eq!(k.to_string(), "default/web:http/TCP");
    }
}
