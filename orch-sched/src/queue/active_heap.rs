//! `ActiveHeap`: a binary heap ordered by the QueueSort plugin, with lazy removal.

use std::sync::Arc;

use super::QueuedPodInfo;
use crate::QueueSortPlugin;

/// A binary heap whose order comes from a [`QueueSortPlugin`]. Entries carry a sequence number;
/// an entry whose sequence no longer matches its pod's current one is stale and skipped.
pub(crate) struct ActiveHeap {
    sort: Arc<dyn QueueSortPlugin>,
    items: Vec<(u64, Arc<QueuedPodInfo>)>,
}

impl ActiveHeap {
    pub(crate) fn new(sort: Arc<dyn QueueSortPlugin>) -> Self {
        ActiveHeap { sort, items: Vec::new() }
    }

    fn less(&self, i: usize, j: usize) -> bool {
        self.sort.less(&self.items[i].1, &self.items[j].1)
    }

    pub(crate) fn push(&mut self, seq: u64, pod: Arc<QueuedPodInfo>) {
        self.items.push((seq, pod));
        let mut i = self.items.len() - 1;
        while i > 0 {
            let parent = (i - 1) / 2;
            if !self.less(i, parent) {
                break;
            }
            self.items.swap(i, parent);
            i = parent;
        }
    }

    pub(crate) fn pop(&mut self) -> Option<(u64, Arc<QueuedPodInfo>)> {
        if self.items.is_empty() {
            return None;
        }
        let last = self.items.len() - 1;
        self.items.swap(0, last);
        let top = self.items.pop();
        let n = self.items.len();
        let mut i = 0;
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut m = i;
            if l < n && self.less(l, m) {
                m = l;
            }
            if r < n && self.less(r, m) {
                m = r;
            }
            if m == i {
                break;
            }
            self.items.swap(i, m);
            i = m;
        }
        top
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }
}
