//! Built-in kinds, JSON-compatible with Kubernetes' own: Namespace, Node, Pod, Service,
//! Endpoints, ReplicaSet, Deployment, Lease and Event.
//!
//! Each derives `Serialize`, `Deserialize` and `JsonSchema` in camelCase. Typed kinds drop
//! unknown fields when decoded (see [`Resource`](crate::Resource)); a
//! [`DynamicObject`](crate::DynamicObject) keeps them.

mod condition;
mod container;
mod deployment;
mod endpoints;
mod event;
mod int_or_string;
mod lease;
mod namespace;
mod node;
mod pod;
mod replica_set;
mod scheduling;
mod service;

pub use condition::{Condition, find_condition};
pub use container::{
    Container, ContainerPort, ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, EnvVar, EnvVarSource, ExecAction, GrpcAction, HttpGetAction, HttpHeader, ObjectFieldSelector,
    Probe, ResourceRequirements, TcpSocketAction, VolumeMount,
};
pub use deployment::{Deployment, DeploymentSpec, DeploymentStatus, DeploymentStrategy, RollingUpdateDeployment};
pub use endpoints::{EndpointAddress, EndpointPort, EndpointSubset, Endpoints};
pub use event::{Event, EventSource};
pub use int_or_string::IntOrString;
pub use lease::{Lease, LeaseSpec};
pub use namespace::{Namespace, NamespaceSpec, NamespaceStatus};
pub use node::{
    ContainerImage, DaemonEndpoint, Node, NodeAddress, NodeDaemonEndpoints, NodeSpec, NodeStatus, NodeSystemInfo, Taint,
};
pub use pod::{HostPathVolumeSource, Pod, PodIp, PodSpec, PodStatus, PodTemplateSpec, Volume};
pub use replica_set::{ReplicaSet, ReplicaSetSpec, ReplicaSetStatus};
pub use scheduling::{
    Affinity, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PodAffinity, PodAffinityTerm,
    PreferredSchedulingTerm, Toleration, TopologySpreadConstraint, WeightedPodAffinityTerm,
};
pub use service::{
    ClientIpConfig, LoadBalancerIngress, LoadBalancerStatus, Service, ServicePort, ServiceSpec, ServiceStatus,
    SessionAffinityConfig,
};
