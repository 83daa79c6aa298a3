//! `KindWatch`: list, then watch from the list's revision; resume after errors, relist on Gone.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use orch_core::store::{ListParams, ObjectStore, WatchEvent, WatchParams, WatchStream};
use orch_core::{DynamicObject, ResourceType, StoreError};

/// What a step of the watch tells its user.
#[derive(Debug)]
pub(crate) enum Change {
    /// The complete current state (after the first list and after every relist).
    Reset(Vec<DynamicObject>),
    /// An object was added or changed.
    Upsert(Arc<DynamicObject>),
    /// An object was deleted.
    Delete(Arc<DynamicObject>),
}

enum State {
    /// Must (re)list; wait `delay` first.
    List { delay: Duration },
    /// Up to date at `rv`; `stream` is the open watch, if any.
    Watch { rv: String, stream: Option<WatchStream>, delay: Duration },
}

const MIN_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(5);

fn backoff(d: Duration) -> Duration {
    (d * 2).clamp(MIN_DELAY, MAX_DELAY)
}

/// A list-then-watch of every object of one kind, as an explicit state machine.
pub(crate) struct KindWatch {
    store: Arc<dyn ObjectStore>,
    rt: ResourceType,
    state: State,
}

impl KindWatch {
    /// Starts (lazily) with a list.
    pub(crate) fn new(store: Arc<dyn ObjectStore>, rt: ResourceType) -> Self {
        KindWatch { store, rt, state: State::List { delay: Duration::ZERO } }
    }

    /// The next change. Never fails: store errors are retried with backoff, `Gone` relists.
    /// Cancel-safe in the sense that a dropped call only repeats work (a list or a watch open).
    pub(crate) async fn next(&mut self) -> Change {
        loop {
            match &mut self.state {
                State::List { delay } => {
                    let d = *delay;
                    if !d.is_zero() {
                        tokio::time::sleep(d).await;
                    }
                    match self.store.list(&self.rt, None, &ListParams::default()).await {
                        Ok(list) => {
                            self.state =
                                State::Watch { rv: list.resource_version, stream: None, delay: Duration::ZERO };
                            return Change::Reset(list.items);
                        }
                        Err(e) => {
                            tracing::warn!(kind = %self.rt.kind, error = %e, "proxy list failed; retrying");
                            self.state = State::List { delay: backoff(d) };
                        }
                    }
                }
                State::Watch { rv, stream: None, delay } => {
                    if !delay.is_zero() {
                        tokio::time::sleep(*delay).await;
                    }
                    let params = WatchParams::default().from_version(rv.clone()).bookmarks();
                    match self.store.watch(&self.rt, None, &params).await {
                        Ok(s) => {
                            self.state = State::Watch { rv: rv.clone(), stream: Some(s), delay: Duration::ZERO };
                        }
                        Err(StoreError::Gone { .. }) => self.state = State::List { delay: Duration::ZERO },
                        Err(e) => {
                            tracing::warn!(kind = %self.rt.kind, error = %e, "proxy watch failed; retrying");
                            *delay = backoff(*delay);
                        }
                    }
                }
                State::Watch { rv, stream: Some(s), delay } => match s.next().await {
                    Some(ev @ (WatchEvent::Added(_) | WatchEvent::Modified(_) | WatchEvent::Deleted(_))) => {
                        if let Some(v) = ev.resource_version() {
                            *rv = v.to_owned();
                        }
                        return match ev {
                            WatchEvent::Deleted(o) => Change::Delete(o),
                            WatchEvent::Added(o) | WatchEvent::Modified(o) => Change::Upsert(o),
                            _ => continue,
                        };
                    }
                    Some(WatchEvent::Bookmark { resource_version }) => *rv = resource_version,
                    Some(WatchEvent::Error(StoreError::Gone { .. })) => {
                        self.state = State::List { delay: Duration::ZERO };
                    }
                    Some(WatchEvent::Error(e)) => {
                        tracing::warn!(kind = %self.rt.kind, error = %e, "proxy watch broke; resuming");
                        self.state = State::Watch { rv: rv.clone(), stream: None, delay: backoff(*delay) };
                    }
                    // The store ended the watch (timeout, restart): resume where we were.
                    None => self.state = State::Watch { rv: rv.clone(), stream: None, delay: Duration::ZERO },
                },
            }
        }
    }
}
