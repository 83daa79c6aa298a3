//! `Hub`: every watcher of a `MemKv`, in a synced group (indexed, fed new events as they are
//! written) and an unsynced group (behind; each catches up from history when its consumer polls).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;

use crate::kv::{KeyRange, KvError, KvEvent};
use crate::mvcc::{Change, MvccCore};

use super::watch_index::WatchIndex;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a watcher's consumer has not taken yet, and where it stands.
#[derive(Debug, Default)]
pub(crate) struct WatcherState {
    /// Whole revisions of events, oldest first.
    pub events: Vec<KvEvent>,
    /// A progress notification to deliver (when no events are buffered).
    pub progress: Option<i64>,
    pub waker: Option<Waker>,
    /// In the synced group: new events are pushed to it.
    pub synced: bool,
    /// Unsynced: the first revision not yet delivered. Synced: the first revision it wants.
    pub next_revision: i64,
}

/// One watcher, shared by the hub and its stream.
#[derive(Debug)]
pub(crate) struct WatcherCell {
    pub id: u64,
    pub range: KeyRange,
    pub prev_kv: bool,
    pub state: Mutex<WatcherState>,
}

/// Every watcher, grouped.
#[derive(Debug, Default)]
pub(crate) struct Hub {
    watchers: BTreeMap<u64, Arc<WatcherCell>>,
    synced: WatchIndex,
    unsynced: BTreeSet<u64>,
    progress: BTreeSet<u64>,
    next_id: u64,
    /// Every revision up to this one has been offered to the synced group.
    pub notified: i64,
    scratch: Vec<u64>,
}

impl Hub {
    /// Adds a watcher starting at `start` (synced when `start` is after `notified`).
    pub fn add(&mut self, range: KeyRange, start: i64, prev_kv: bool, progress: bool) -> Arc<WatcherCell> {
        self.next_id += 1;
        let id = self.next_id;
        let synced = start > self.notified;
        let state = WatcherState { synced, next_revision: start, ..Default::default() };
        let cell = Arc::new(WatcherCell { id, range, prev_kv, state: Mutex::new(state) });
        if synced {
            self.synced.insert(id, &cell.range);
        } else {
            self.unsynced.insert(id);
        }
        if progress {
            self.progress.insert(id);
        }
        self.watchers.insert(id, cell.clone());
        cell
    }

    /// Removes a watcher; returns whether it was there.
    pub fn remove(&mut self, cell: &WatcherCell) -> bool {
        if self.watchers.remove(&cell.id).is_none() {
            return false;
        }
        if !self.unsynced.remove(&cell.id) {
            self.synced.remove(cell.id, &cell.range);
        }
        self.progress.remove(&cell.id);
        true
    }

    pub fn len(&self) -> usize {
        self.watchers.len()
    }

    pub fn unsynced_len(&self) -> usize {
        self.unsynced.len()
    }

    fn make_unsynced(&mut self, cell: &WatcherCell, st: &mut WatcherState, revision: i64) {
        st.synced = false;
        st.next_revision = revision;
        self.synced.remove(cell.id, &cell.range);
        self.unsynced.insert(cell.id);
    }

    /// Offers one revision's changes to the synced watchers interested in them. A watcher whose
    /// buffer cannot take the whole revision moves to the unsynced group (it never blocks this).
    pub fn dispatch(&mut self, changes: &[Change], buffer_limit: usize) {
        let Some(revision) = changes.first().map(Change::revision) else { return };
        if let [change] = changes {
            self.dispatch_one(change, revision, buffer_limit);
            return;
        }
        let mut pairs: Vec<(u64, KvEvent)> = Vec::new();
        let mut ids = std::mem::take(&mut self.scratch);
        for change in changes {
            ids.clear();
            self.synced.matching(change.key(), &mut ids);
            let (mut plain, mut with_prev) = (None, None);
            for id in &ids {
                let Some(cell) = self.watchers.get(id) else { continue };
                let event = if cell.prev_kv {
                    with_prev.get_or_insert_with(|| change.to_event(true)).clone()
                } else {
                    plain.get_or_insert_with(|| change.to_event(false)).clone()
                };
                pairs.push((*id, event));
            }
        }
        self.scratch = ids;
        if changes.len() > 1 {
            pairs.sort_by_key(|(id, _)| *id); // stable: keeps each watcher's events in order
        }
        let mut pairs = pairs.into_iter().peekable();
        while let Some((id, first)) = pairs.next() {
            let mut events = vec![first];
            while let Some((_, e)) = pairs.next_if(|(next, _)| *next == id) {
                events.push(e);
            }
            let Some(cell) = self.watchers.get(&id).cloned() else { continue };
            let mut st = lock(&cell.state);
            if !st.synced || st.next_revision > revision {
                continue;
            }
            if st.events.is_empty() || st.events.len() + events.len() <= buffer_limit {
                if st.events.is_empty() {
                    st.events = events;
                } else {
                    st.events.append(&mut events);
                }
                st.progress = None;
            } else {
                self.make_unsynced(&cell, &mut st, revision);
            }
            if let Some(w) = st.waker.take() {
                w.wake();
            }
        }
        self.notified = self.notified.max(revision);
    }

    /// The common case of a revision with one change: each interested watcher gets the event
    /// pushed straight into its buffer, with no per-dispatch grouping.
    fn dispatch_one(&mut self, change: &Change, revision: i64, buffer_limit: usize) {
        let mut ids = std::mem::take(&mut self.scratch);
        ids.clear();
        self.synced.matching(change.key(), &mut ids);
        let (mut plain, mut with_prev) = (None, None);
        let mut fell_behind = Vec::new();
        for id in &ids {
            let Some(cell) = self.watchers.get(id) else { continue };
            let mut st = lock(&cell.state);
            if !st.synced || st.next_revision > revision {
                continue;
            }
            if st.events.is_empty() || st.events.len() < buffer_limit {
                let event = if cell.prev_kv {
                    with_prev.get_or_insert_with(|| change.to_event(true)).clone()
                } else {
                    plain.get_or_insert_with(|| change.to_event(false)).clone()
                };
                st.events.push(event);
                st.progress = None;
            } else {
                fell_behind.push(cell.clone());
                continue;
            }
            if let Some(w) = st.waker.take() {
                w.wake();
            }
        }
        for cell in fell_behind {
            let mut st = lock(&cell.state);
            self.make_unsynced(&cell, &mut st, revision);
            if let Some(w) = st.waker.take() {
                w.wake();
            }
        }
        self.scratch = ids;
        self.notified = self.notified.max(revision);
    }

    /// One catch-up step of an unsynced watcher whose buffer is empty: reads the next events
    /// from history (up to `notified`), and moves it to the synced group once it has caught up.
    ///
    /// # Errors
    /// `Compacted` when the history it needs is gone.
    pub fn catch_up(
        &mut self,
        core: &MvccCore,
        cell: &WatcherCell,
        max_events: usize,
    ) -> Result<Vec<KvEvent>, KvError> {
        let mut st = lock(&cell.state);
        if st.synced {
            return Ok(Vec::new());
        }
        let to = self.notified;
        let batch = core.changes(&cell.range, st.next_revision, to, cell.prev_kv, max_events, max_events * 16)?;
        st.next_revision = batch.next_revision;
        if st.next_revision > to {
            st.synced = true;
            self.unsynced.remove(&cell.id);
            self.synced.insert(cell.id, &cell.range);
        }
        Ok(batch.changes.iter().map(|c| c.to_event(cell.prev_kv)).collect())
    }

    /// Queues a progress notification for idle synced watchers that asked for them.
    pub fn progress_tick(&mut self) {
        for id in &self.progress {
            let Some(cell) = self.watchers.get(id) else { continue };
            let mut st = lock(&cell.state);
            if st.synced && st.events.is_empty() {
                st.progress = Some(self.notified);
                if let Some(w) = st.waker.take() {
                    w.wake();
                }
            }
        }
    }
}
