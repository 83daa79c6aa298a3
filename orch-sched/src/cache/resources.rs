//! `Resources`: CPU, memory, storage, pod slots and extended resources as integers.

use std::collections::BTreeMap;

use orch_core::Quantity;
use orch_core::kinds::{Container, Node, Pod};

/// CPU a container without a CPU request is counted as when scoring (Kubernetes' 100m).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// Memory a container without a memory request is counted as when scoring (Kubernetes' 200 MiB).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// An amount of each resource the scheduler accounts for, as integers: CPU in millicores,
/// memory and ephemeral storage in bytes, pod slots, and any other (extended) resource in units.
///
/// ```
/// use std::collections::BTreeMap;
/// use orch_core::kinds::Container;
/// use orch_sched::Resources;
/// let mut c = Container::default();
/// c.resources.requests = BTreeMap::from([("cpu".into(), "250m".into()), ("memory".into(), "1Gi".into())]);
/// let r = Resources::of_containers(&[c], &[]);
/// assert_eq!((r.milli_cpu, r.memory), (250, 1 << 30));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[repr(C)] // the integers first: the scheduler's hot loops read them, rarely the map
pub struct Resources {
    /// CPU in millicores.
    pub milli_cpu: i64,
    /// Memory in bytes.
    pub memory: i64,
    /// Ephemeral storage in bytes.
    pub ephemeral_storage: i64,
    /// Pod slots (only meaningful for a node's allocatable).
    pub pods: i64,
    /// Extended resources (`nvidia.com/gpu`, `hugepages-2Mi`, ...) in whole units.
    pub scalar: BTreeMap<String, i64>,
}

fn parse(q: &Quantity, milli: bool) -> i64 {
    // A quantity the store accepted always parses; a malformed one counts as zero.
    q.parse().map(|p| if milli { p.millis() } else { p.value() }).unwrap_or(0)
}

impl Resources {
    /// Reads a resource map (`requests` or `allocatable`).
    pub fn from_map(map: &BTreeMap<String, Quantity>) -> Self {
        let mut r = Resources::default();
        for (name, q) in map {
            match name.as_str() {
                "cpu" => r.milli_cpu = parse(q, true),
                "memory" => r.memory = parse(q, false),
                "ephemeral-storage" => r.ephemeral_storage = parse(q, false),
                "pods" => r.pods = parse(q, false),
                other => {
                    r.scalar.insert(other.to_owned(), parse(q, false));
                }
            }
        }
        r
    }

    /// What a node offers to pods (`status.allocatable`, falling back to `status.capacity`).
    pub fn allocatable_of(node: &Node) -> Self {
        if node.status.allocatable.is_empty() {
            Resources::from_map(&node.status.capacity)
        } else {
            Resources::from_map(&node.status.allocatable)
        }
    }

    /// The effective request of a pod: the sum over containers, or the largest init container
    /// if that is more (as Kubernetes computes it).
    pub fn of_containers(containers: &[Container], init_containers: &[Container]) -> Self {
        let mut sum = Resources::default();
        for c in containers {
            sum.add(&Resources::from_map(&c.resources.requests));
        }
        for c in init_containers {
            sum.set_max(&Resources::from_map(&c.resources.requests));
        }
        sum
    }

    /// The effective request of a pod.
    pub fn of_pod(pod: &Pod) -> Self {
        Resources::of_containers(&pod.spec.containers, &pod.spec.init_containers)
    }

    /// CPU and memory of a pod with Kubernetes' defaults for containers that request none,
    /// used by scoring so that request-less pods still spread.
    pub fn non_zero_of_pod(pod: &Pod) -> (i64, i64) {
        let one = |c: &Container| {
            let r = Resources::from_map(&c.resources.requests);
            let cpu = if c.resources.requests.contains_key("cpu") { r.milli_cpu } else { DEFAULT_MILLI_CPU_REQUEST };
            let mem = if c.resources.requests.contains_key("memory") { r.memory } else { DEFAULT_MEMORY_REQUEST };
            (cpu, mem)
        };
        let (mut cpu, mut mem) = (0i64, 0i64);
        for c in &pod.spec.containers {
            let (c, m) = one(c);
            cpu = cpu.saturating_add(c);
            mem = mem.saturating_add(m);
        }
        for c in &pod.spec.init_containers {
            let (c, m) = one(c);
            cpu = cpu.max(c);
            mem = mem.max(m);
        }
        (cpu, mem)
    }

    /// Adds `other` to `self` (saturating).
    pub fn add(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.saturating_add(other.milli_cpu);
        self.memory = self.memory.saturating_add(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.saturating_add(other.ephemeral_storage);
        self.pods = self.pods.saturating_add(other.pods);
        for (k, v) in &other.scalar {
            let e = self.scalar.entry(k.clone()).or_insert(0);
            *e = e.saturating_add(*v);
        }
    }

    /// Subtracts `other` from `self` (saturating).
    pub fn sub(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.saturating_sub(other.milli_cpu);
        self.memory = self.memory.saturating_sub(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.saturating_sub(other.ephemeral_storage);
        self.pods = self.pods.saturating_sub(other.pods);
        for (k, v) in &other.scalar {
            let e = self.scalar.entry(k.clone()).or_insert(0);
            *e = e.saturating_sub(*v);
        }
    }

    /// Raises each resource of `self` to at least `other`'s.
    pub fn set_max(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.max(other.milli_cpu);
        self.memory = self.memory.max(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(other.ephemeral_storage);
        for (k, v) in &other.scalar {
            let e = self.scalar.entry(k.clone()).or_insert(0);
            *e = (*e).max(*v);
        }
    }

    /// Whether nothing is requested.
    pub fn is_zero(&self) -> bool {
        self.milli_cpu == 0 && self.memory == 0 && self.ephemeral_storage == 0 && self.scalar.values().all(|v| *v == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(cpu: Option<&str>, mem: Option<&str>) -> Container {
        let mut c = Container::default();
        if let Some(cpu) = cpu {
            c.resources.requests.insert("cpu".into(), cpu.into());
        }
        if let Some(mem) = mem {
            c.resources.requests.insert("memory".into(), mem.into());
        }
        c
    }

    #[test]
    fn pod_request_is_sum_of_containers_or_largest_init_container() {
        let cases = [
            (vec![container(Some("100m"), Some("1Mi")), container(Some("200m"), None)], vec![], (300, 1 << 20)),
            (vec![container(Some("100m"), None)], vec![container(Some("1"), Some("2Mi"))], (1000, 2 << 20)),
            (vec![], vec![], (0, 0)),
        ];
        for (containers, init, (cpu, mem)) in cases {
            let r = Resources::of_containers(&containers, &init);
            assert_eq!((r.milli_cpu, r.memory), (cpu, mem));
        }
    }

    #[test]
    fn non_zero_request_defaults_missing_cpu_and_memory() {
        let mut pod = Pod::default();
        pod.spec.containers = vec![container(None, None), container(Some("1"), None)];
        assert_eq!(Resources::non_zero_of_pod(&pod), (1100, 2 * DEFAULT_MEMORY_REQUEST));
    }

    #[test]
    fn extended_resources_and_pods_are_read_from_allocatable() {
        let mut node = Node::default();
        node.status.allocatable =
            BTreeMap::from([("pods".into(), "110".into()), ("nvidia.com/gpu".into(), "2".into())]);
        let r = Resources::allocatable_of(&node);
        assert_eq!(r.pods, 110);
        assert_eq!(r.scalar["nvidia.com/gpu"], 2);
    }
}
