//! The list-then-watch state machine: an explicit `State` advanced by one `step` function.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use orch_core::store::{ListParams, WatchParams, WatchStream};
use orch_core::{Api, Resource, StoreError, WatchEvent};

use super::{Backoff, Runtime};

/// What the watcher delivers.
#[derive(Debug)]
pub enum WatcherEvent<K> {
    /// A full list: the cache must be replaced by exactly these objects.
    Restarted(Vec<Arc<K>>),
    /// An object was added or modified.
    Applied(Arc<K>),
    /// An object was deleted (or stopped matching the selectors); its last state.
    Deleted(Arc<K>),
}

/// Settings of a [`Watcher`]: selectors and the backoff after failures.
#[derive(Clone, Debug)]
pub struct WatcherConfig {
    /// Label selector of the list and watch.
    pub label_selector: Option<String>,
    /// Field selector of the list and watch.
    pub field_selector: Option<String>,
    /// First delay after a failure.
    pub initial_backoff: Duration,
    /// Largest delay after repeated failures.
    pub max_backoff: Duration,
    /// Seed of the jitter (fraction 0.5) added to each delay.
    pub jitter_seed: u64,
}

impl Default for WatcherConfig {
    fn default() -> Self {
        WatcherConfig {
            label_selector: None,
            field_selector: None,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
            jitter_seed: 1,
        }
    }
}

impl WatcherConfig {
    /// Watches only objects matching a label selector.
    pub fn labels(mut self, selector: impl Into<String>) -> Self {
        self.label_selector = Some(selector.into());
        self
    }

    /// Watches only objects matching a field selector.
    pub fn fields(mut self, selector: impl Into<String>) -> Self {
        self.field_selector = Some(selector.into());
        self
    }

    /// Sets the backoff range.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }
}

/// Where the watcher is.
enum State {
    /// Nothing known: list next.
    Empty,
    /// Listed or disconnected at `rv`: open a watch from there next.
    Resuming { rv: String },
    /// Streaming changes after `rv`.
    Watching { rv: String, stream: WatchStream },
}

/// The outcome of one step: maybe an event, maybe an error to back off from, and the next state.
struct Step<K> {
    event: Option<WatcherEvent<K>>,
    error: Option<StoreError>,
    next: State,
}

impl<K> Step<K> {
    fn to(next: State) -> Self {
        Step { event: None, error: None, next }
    }
    fn failed(error: StoreError, next: State) -> Self {
        Step { event: None, error: Some(error), next }
    }
}

/// Lists, then watches from the list's resourceVersion; relists on `Gone`; on any other failure
/// or a closed stream resumes from the last resourceVersion seen, after a jittered backoff.
///
/// ```
/// use orch_controllers::{Runtime, Watcher, WatcherConfig, WatcherEvent};
/// use orch_core::{Api, kinds::Pod};
///
/// async fn first_listing(api: Api<Pod>, rt: Runtime) -> usize {
///     let mut w = Watcher::new(api, WatcherConfig::default(), rt);
///     match w.next().await {
///         WatcherEvent::Restarted(pods) => pods.len(),
///         _ => 0,
///     }
/// }
/// ```
pub struct Watcher<K> {
    api: Api<K>,
    config: WatcherConfig,
    rt: Runtime,
    state: State,
    backoff: Backoff,
    errors: u64,
}

impl<K: Resource> Watcher<K> {
    /// A watcher that has not listed yet.
    pub fn new(api: Api<K>, config: WatcherConfig, rt: Runtime) -> Self {
        let backoff = Backoff::new(config.initial_backoff, config.max_backoff).with_jitter(0.5, config.jitter_seed);
        Watcher { api, config, rt, state: State::Empty, backoff, errors: 0 }
    }

    /// Failures seen so far (each was followed by a backoff).
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// The next event; waits through failures (backing off) until there is one.
    pub async fn next(&mut self) -> WatcherEvent<K> {
        loop {
            let state = std::mem::replace(&mut self.state, State::Empty);
            let step = step(&self.api, &self.config, state).await;
            self.state = step.next;
            if let Some(ev) = step.event {
                self.backoff.reset();
                return ev;
            }
            if step.error.is_some() {
                self.errors += 1;
                let delay = self.backoff.next_delay();
                self.rt.clock.sleep(delay).await;
            }
        }
    }
}

fn decode<K: Resource>(obj: &orch_core::DynamicObject) -> Option<Arc<K>> {
    obj.to_typed::<K>().ok().map(Arc::new)
}

/// Advances the state machine by one transition.
async fn step<K: Resource>(api: &Api<K>, config: &WatcherConfig, state: State) -> Step<K> {
    let rt = K::resource_type();
    match state {
        State::Empty => {
            let params = ListParams {
                label_selector: config.label_selector.clone(),
                field_selector: config.field_selector.clone(),
                ..Default::default()
            };
            match api.store().list(&rt, api.namespace(), &params).await {
                Ok(list) => {
                    // Objects that cannot be decoded as `K` are left out rather than stopping the cache.
                    let items = list.items.iter().filter_map(decode::<K>).collect();
                    Step {
                        event: Some(WatcherEvent::Restarted(items)),
                        error: None,
                        next: State::Resuming { rv: list.resource_version },
                    }
                }
                Err(e) => Step::failed(e, State::Empty),
            }
        }
        State::Resuming { rv } => {
            let params = WatchParams {
                label_selector: config.label_selector.clone(),
                field_selector: config.field_selector.clone(),
                resource_version: Some(rv.clone()),
                allow_bookmarks: true,
                timeout: None,
            };
            match api.store().watch(&rt, api.namespace(), &params).await {
                Ok(stream) => Step::to(State::Watching { rv, stream }),
                Err(e @ StoreError::Gone { .. }) => Step::failed(e, State::Empty),
                Err(e) => Step::failed(e, State::Resuming { rv }),
            }
        }
        State::Watching { rv, mut stream } => match stream.next().await {
            Some(WatchEvent::Added(o)) | Some(WatchEvent::Modified(o)) => {
                let rv = o.metadata.resource_version.clone().unwrap_or(rv);
                let event = decode::<K>(&o).map(WatcherEvent::Applied);
                Step { event, error: None, next: State::Watching { rv, stream } }
            }
            Some(WatchEvent::Deleted(o)) => {
                let rv = o.metadata.resource_version.clone().unwrap_or(rv);
                let event = decode::<K>(&o).map(WatcherEvent::Deleted);
                Step { event, error: None, next: State::Watching { rv, stream } }
            }
            Some(WatchEvent::Bookmark { resource_version }) => {
                Step::to(State::Watching { rv: resource_version, stream })
            }
            Some(WatchEvent::Error(e @ StoreError::Gone { .. })) => Step::failed(e, State::Empty),
            Some(WatchEvent::Error(e)) => Step::failed(e, State::Resuming { rv }),
            None => Step::failed(
                StoreError::Unavailable { message: "the watch stream ended".into() },
                State::Resuming { rv },
            ),
        },
    }
}
