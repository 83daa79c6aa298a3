//! `EtcdCluster`: a real, throw-away three-member etcd cluster on 127.0.0.1 for fault tests,
//! whose members can be SIGKILLed and restarted one by one.
//!
//! Every member is an `etcd` process with its own data directory and client and peer ports
//! (free ports picked at start), all in one `--initial-cluster`. Each runs under the same guard
//! as [`EtcdServer`](super::etcd_server::EtcdServer), so every member is stopped and the data
//! removed when the handle drops, or when the test process exits or crashes.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::etcd_process::{EtcdProcess, healthy, http};
use super::etcd_server::{EtcdServerError, etcd_binary, fresh_dir, next_unique};

/// How to start a test cluster: a plain struct with `Default` and by-value builders.
///
/// ```
/// use std::time::Duration;
/// use orch_store::testkit::etcd_cluster::EtcdClusterConfig;
///
/// let config = EtcdClusterConfig::default().with_election_timeout(Duration::from_secs(2));
/// assert_eq!(config.members, 3);
/// assert_eq!(config.election_timeout, Duration::from_secs(2));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdClusterConfig {
    /// The etcd binary (`None`: as [`etcd_binary`]).
    pub binary: Option<PathBuf>,
    /// Members (default 3).
    pub members: usize,
    /// How long to wait for the cluster to become healthy (default 30 s).
    pub startup_timeout: Duration,
    /// etcd's `--heartbeat-interval` (default 100 ms).
    pub heartbeat_interval: Duration,
    /// etcd's `--election-timeout` (default 1 s): how long followers wait for a dead leader.
    pub election_timeout: Duration,
}

impl Default for EtcdClusterConfig {
    fn default() -> Self {
        EtcdClusterConfig {
            binary: None,
            members: 3,
            startup_timeout: Duration::from_secs(30),
            heartbeat_interval: Duration::from_millis(100),
            election_timeout: Duration::from_secs(1),
        }
    }
}

impl EtcdClusterConfig {
    /// Uses this etcd binary.
    pub fn with_binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }
    /// Sets the number of members (at least one).
    pub fn with_members(mut self, members: usize) -> Self {
        self.members = members.max(1);
        self
    }
    /// Sets how long startup may take.
    pub fn with_startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }
    /// Sets the raft heartbeat interval.
    pub fn with_heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat_interval = interval;
        self
    }
    /// Sets the election timeout.
    pub fn with_election_timeout(mut self, timeout: Duration) -> Self {
        self.election_timeout = timeout;
        self
    }
}

/// A running etcd cluster of (by default) three members on 127.0.0.1; every member is killed
/// and all data removed on drop.
///
/// Members are addressed by index (`0..len()`). [`kill`](Self::kill) is a crash (SIGKILL, the
/// data stays), [`restart`](Self::restart) starts the member again on the same data and ports,
/// [`leader`](Self::leader) asks the members' maintenance status API (through etcd's JSON
/// gateway on the client port) which of them leads.
///
/// # Example
/// ```no_run
/// use std::time::Duration;
/// use orch_store::testkit::etcd_cluster::EtcdCluster;
///
/// let mut cluster = EtcdCluster::start().expect("etcd runs; scripts/setup installs it");
/// let leader = cluster.wait_for_leader(Duration::from_secs(10)).unwrap();
/// cluster.kill(leader).unwrap(); // the others elect a new leader
/// let next = cluster.wait_for_leader(Duration::from_secs(10)).unwrap();
/// assert_ne!(next, leader);
/// cluster.restart(leader).unwrap(); // rejoins as a follower
/// println!("clients use {:?}", cluster.endpoints());
/// ```
#[derive(Debug)]
pub struct EtcdCluster {
    members: Vec<EtcdProcess>,
    client_urls: Vec<String>,
    dir: PathBuf,
    startup_timeout: Duration,
}

impl EtcdCluster {
    /// Starts a fresh three-member cluster and waits until every member is healthy.
    ///
    /// # Errors
    /// `NotInstalled` without an etcd binary; `Exited` or `Unhealthy` if it does not come up.
    pub fn start() -> Result<Self, EtcdServerError> {
        Self::start_with(&EtcdClusterConfig::default())
    }

    /// Starts a fresh cluster (blocking, usually a few seconds) and waits until every member
    /// is healthy. From async code, call it from `tokio::task::spawn_blocking`.
    ///
    /// # Errors
    /// As [`EtcdCluster::start`].
    pub fn start_with(config: &EtcdClusterConfig) -> Result<Self, EtcdServerError> {
        let binary = match &config.binary {
            Some(path) => path.clone(),
            None => etcd_binary()?,
        };
        // The ports are free when picked but not reserved: on a clash a member exits; try again.
        let mut last = None;
        for _ in 0..3 {
            match Self::try_start(&binary, config) {
                Err(EtcdServerError::Exited { log_tail }) if log_tail.contains("address already in use") => {
                    last = Some(EtcdServerError::Exited { log_tail });
                }
                other => return other,
            }
        }
        Err(last.unwrap_or(EtcdServerError::Io { what: "starting etcd", message: "no attempt made".into() }))
    }

    fn try_start(binary: &Path, config: &EtcdClusterConfig) -> Result<Self, EtcdServerError> {
        let io = |what: &'static str| move |e: std::io::Error| EtcdServerError::Io { what, message: e.to_string() };
        let n = config.members.max(1);
        let ports = free_ports(2 * n).map_err(io("picking free ports"))?;
        let token = next_unique();
        let dir = fresh_dir(token);
        std::fs::create_dir_all(&dir).map_err(io("creating the cluster directory"))?;
        let client_urls: Vec<String> = (0..n).map(|i| format!("http://127.0.0.1:{}", ports[2 * i])).collect();
        let peer_urls: Vec<String> = (0..n).map(|i| format!("http://127.0.0.1:{}", ports[2 * i + 1])).collect();
        let initial: Vec<String> = (0..n).map(|i| format!("m{i}={}", peer_urls[i])).collect();
        let initial = initial.join(",");
        let mut cluster = EtcdCluster {
            members: Vec::with_capacity(n),
            client_urls: client_urls.clone(),
            dir: dir.clone(),
            startup_timeout: config.startup_timeout,
        };
        for i in 0..n {
            let member_dir = dir.join(format!("m{i}"));
            std::fs::create_dir_all(&member_dir).map_err(io("creating a member directory"))?;
            let data = member_dir.join("data").to_string_lossy().into_owned();
            let args: Vec<String> = [
                "--name",
                &format!("m{i}"),
                "--data-dir",
                &data,
                "--listen-client-urls",
                &client_urls[i],
                "--advertise-client-urls",
                &client_urls[i],
                "--listen-peer-urls",
                &peer_urls[i],
                "--initial-advertise-peer-urls",
                &peer_urls[i],
                "--initial-cluster",
                &initial,
                "--initial-cluster-state",
                "new",
                "--initial-cluster-token",
                &format!("orch-test-cluster-{token}"),
                "--heartbeat-interval",
                &config.heartbeat_interval.as_millis().max(1).to_string(),
                "--election-timeout",
                &config.election_timeout.as_millis().max(1).to_string(),
                "--logger",
                "zap",
                "--log-outputs",
                "stderr",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
            let port = ports[2 * i];
            cluster.members.push(EtcdProcess::spawn(binary, args, &member_dir, port)?);
        }
        // On failure the cluster is dropped (stopped and removed) after the log was read.
        cluster.wait_healthy(config.startup_timeout)?;
        Ok(cluster)
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the cluster has no members (never: it has at least one).
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Every member's client URL (`http://127.0.0.1:PORT`), as `EtcdKv::connect` takes them.
    pub fn endpoints(&self) -> Vec<String> {
        self.client_urls.clone()
    }

    /// Member `index`'s client URL.
    ///
    /// # Panics
    /// If `index` is out of range (a bug in the test).
    pub fn client_url(&self, index: usize) -> &str {
        &self.client_urls[index]
    }

    /// The directory holding every member's data and log (removed when the cluster drops).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether member `index` is running (started and not killed since).
    pub fn is_running(&self, index: usize) -> bool {
        self.members.get(index).is_some_and(EtcdProcess::is_running)
    }

    /// SIGKILLs member `index` (a crash; its data stays) and waits until it is gone. Does
    /// nothing if it is not running.
    ///
    /// # Errors
    /// `Io` if `index` is out of range.
    pub fn kill(&mut self, index: usize) -> Result<(), EtcdServerError> {
        self.member(index)?.kill()
    }

    /// Starts member `index` again on its data directory and ports after [`kill`](Self::kill)
    /// and waits until it accepts connections (without quorum it cannot be healthy yet; see
    /// [`wait_healthy`](Self::wait_healthy)). Does nothing if it is running.
    ///
    /// # Errors
    /// `Io` for an index out of range or if it cannot be spawned; `Exited` or `Unhealthy` if it
    /// does not come up.
    pub fn restart(&mut self, index: usize) -> Result<(), EtcdServerError> {
        let limit = self.startup_timeout;
        let member = self.member(index)?;
        member.restart()?;
        member.wait_listening(limit)
    }

    /// Waits until every running member answers `/health` healthy (which needs a quorum).
    ///
    /// # Errors
    /// `Exited` if a member exited, `Unhealthy` if `limit` passed first.
    pub fn wait_healthy(&mut self, limit: Duration) -> Result<(), EtcdServerError> {
        let started = Instant::now();
        for member in self.members.iter_mut().filter(|m| m.is_running()) {
            member.wait_healthy(limit.saturating_sub(started.elapsed()))?;
        }
        Ok(())
    }

    /// The index of the member that leads now, as the running members' maintenance status
    /// reports it (`None`: no running member knows of a leader).
    pub fn leader(&self) -> Option<usize> {
        let statuses: Vec<(usize, MemberStatus)> = self
            .members
            .iter()
            .enumerate()
            .filter(|(_, m)| m.is_running())
            .filter_map(|(i, m)| member_status(m.client_port()).map(|s| (i, s)))
            .collect();
        statuses.iter().find(|(_, s)| s.leader != 0 && s.member == s.leader).map(|(i, _)| *i)
    }

    /// Polls [`leader`](Self::leader) until some member leads and every running member's
    /// `/health` answers healthy (the leader is known to all), or `limit` passes.
    ///
    /// # Errors
    /// `Unhealthy` (with the log of the first member) if no leader emerged within `limit`.
    pub fn wait_for_leader(&self, limit: Duration) -> Result<usize, EtcdServerError> {
        let started = Instant::now();
        loop {
            if let Some(leader) = self.leader()
                && self.members.iter().filter(|m| m.is_running()).all(|m| healthy(m.client_port()))
            {
                return Ok(leader);
            }
            if started.elapsed() > limit {
                let log_tail = self.members.iter().map(EtcdProcess::log_tail).next().unwrap_or_default();
                return Err(EtcdServerError::Unhealthy { waited: limit, log_tail });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn member(&mut self, index: usize) -> Result<&mut EtcdProcess, EtcdServerError> {
        let len = self.members.len();
        self.members.get_mut(index).ok_or_else(|| EtcdServerError::Io {
            what: "addressing a cluster member",
            message: format!("no member {index} in a cluster of {len}"),
        })
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for member in &mut self.members {
            member.stop();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What one member's maintenance status says: its own id and its leader's (0: none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MemberStatus {
    member: u64,
    leader: u64,
}

/// Asks a member's maintenance status API (`POST /v3/maintenance/status` on etcd's JSON
/// gateway); `None` if it does not answer.
fn member_status(port: u16) -> Option<MemberStatus> {
    let answer = http(port, "POST", "/v3/maintenance/status", "{}")?;
    parse_status(&answer)
}

/// Reads a maintenance status answer; the gateway writes 64-bit ids as JSON strings.
fn parse_status(answer: &str) -> Option<MemberStatus> {
    if !answer.starts_with("HTTP/1.1 200") {
        return None;
    }
    let body = &answer[answer.find('{')?..=answer.rfind('}')?];
    let json: serde_json::Value = serde_json::from_str(body).ok()?;
    let id = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.parse::<u64>().ok(),
        serde_json::Value::Number(n) => n.as_u64(),
        _ => None,
    };
    let member = id(json.get("header")?.get("member_id")?)?;
    let leader = json.get("leader").and_then(id).unwrap_or(0);
    Some(MemberStatus { member, leader })
}

/// `n` distinct free ports on 127.0.0.1 (all held at once while picking, so they differ).
fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    let listeners: Vec<TcpListener> =
        (0..n).map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0))).collect::<Result<_, _>>()?;
    listeners.iter().map(|l| l.local_addr().map(|a| a.port())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_answers_name_the_member_and_its_leader() {
        let leader = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"18446744073709551615\"},\"version\":\"3.4.23\",\"leader\":\"18446744073709551615\"}";
        assert_eq!(parse_status(leader), Some(MemberStatus { member: u64::MAX, leader: u64::MAX }));
        let leaderless = "HTTP/1.1 200 OK\r\n\r\n{\"header\":{\"member_id\":\"7\"}}";
        assert_eq!(parse_status(leaderless), Some(MemberStatus { member: 7, leader: 0 }));
        assert_eq!(parse_status("HTTP/1.1 503 Service Unavailable\r\n\r\n{}"), None);
        assert_eq!(parse_status("HTTP/1.1 200 OK\r\n\r\nnot json"), None);
    }
}
