//! A store that injects watch faults: it delegates everything to a real store, except the
//! watches its hook decides to replace (with an error, a hang, a `Gone`...).

use std::sync::Arc;

use async_trait::async_trait;
use orch_core::store::{LayeredStore, StoreLayer, WatchParams, WatchStream};
use orch_core::{ObjectStore, ResourceType, StoreError};

/// Decides a watch: `Some(stream)` replaces it, `None` lets the real store answer.
pub type WatchHook = Box<dyn Fn(&ResourceType, &WatchParams) -> Option<WatchStream> + Send + Sync>;

/// A layer sending watches through `hook` first.
pub struct WatchFaults {
    pub hook: WatchHook,
}

impl WatchFaults {
    /// The real store `inner`, with watches going through `hook` first.
    pub fn over(inner: Arc<dyn ObjectStore>, hook: WatchHook) -> LayeredStore<WatchFaults> {
        LayeredStore::new(inner, WatchFaults { hook })
    }
}

#[async_trait]
impl StoreLayer for WatchFaults {
    async fn watch(
        &self,
        inner: &dyn ObjectStore,
        rt: &ResourceType,
        ns: Option<&str>,
        p: &WatchParams,
    ) -> Result<WatchStream, StoreError> {
        match (self.hook)(rt, p) {
            Some(stream) => Ok(stream),
            None => inner.watch(rt, ns, p).await,
        }
    }
}
