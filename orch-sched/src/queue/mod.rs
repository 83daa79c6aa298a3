//! The scheduling queue: active heap by QueueSort, backoff queue, unschedulable pool.

mod active_heap;
mod queued_pod;
mod scheduling_queue;

use active_heap::ActiveHeap;
pub use queued_pod::QueuedPodInfo;
pub use scheduling_queue::{QueueConfig, SchedulingQueue};
