use std::sync::Mutex;

use futures::StreamExt;

use super::*;
use crate::runtime::DeterministicExecutor;
use crate::store::WatchEvent;
use crate::{ObjectMeta, kinds::Namespace};

/// An inner store that records which methods were called and answers each with a fixed value.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<StoreOp>>,
}

impl Recorder {
    fn record(&self, op: StoreOp) {
        self.calls.lock().unwrap().push(op);
    }

    fn calls(&self) -> Vec<StoreOp> {
        self.calls.lock().unwrap().clone()
    }
}

fn object(name: &str) -> DynamicObject {
    DynamicObject::new("v1", "Pod", ObjectMeta::named(name))
}

fn bookmark(rv: &str) -> WatchEvent {
    WatchEvent::Bookmark { resource_version: rv.into() }
}

#[async_trait]
impl ObjectStore for Recorder {
    async fn create(
        &self,
        _: &ResourceType,
        obj: DynamicObject,
        _: &WriteOptions,
    ) -> Result<DynamicObject, StoreError> {
        self.record(StoreOp::Create);
        Ok(obj)
    }
    async fn get(&self, _: &ResourceType, _: Option<&str>, name: &str) -> Result<DynamicObject, StoreError> {
        self.record(StoreOp::Get);
        Ok(object(name))
    }
    async fn list(&self, _: &ResourceType, _: Option<&str>, _: &ListParams) -> Result<ObjectList, StoreError> {
        self.record(StoreOp::List);
        Ok(ObjectList::default())
    }
    async fn update(
        &self,
        _: &ResourceType,
        obj: DynamicObject,
        _: &WriteOptions,
    ) -> Result<DynamicObject, StoreError> {
        self.record(StoreOp::Update);
        Ok(obj)
    }
    async fn update_status(
        &self,
        _: &ResourceType,
        obj: DynamicObject,
        _: &WriteOptions,
    ) -> Result<DynamicObject, StoreError> {
        self.record(StoreOp::UpdateStatus);
        Ok(obj)
    }
    async fn patch(
        &self,
        _: &ResourceType,
        _: Option<&str>,
        name: &str,
        _: &Patch,
        _: &PatchOptions,
    ) -> Result<DynamicObject, StoreError> {
        self.record(StoreOp::Patch);
        Ok(object(name))
    }
    async fn delete(
        &self,
        _: &ResourceType,
        _: Option<&str>,
        _: &str,
        _: &DeleteOptions,
    ) -> Result<DeleteOutcome, StoreError> {
        self.record(StoreOp::Delete);
        Ok(DeleteOutcome::Deleted(object("gone")))
    }
    async fn bind(&self, _: &str, pod: &str, _: &str) -> Result<DynamicObject, StoreError> {
        self.record(StoreOp::Bind);
        Ok(object(pod))
    }
    async fn evict(&self, _: &str, _: &str, _: &DeleteOptions) -> Result<(), StoreError> {
        self.record(StoreOp::Evict);
        Ok(())
    }
    async fn watch(&self, _: &ResourceType, _: Option<&str>, _: &WatchParams) -> Result<WatchStream, StoreError> {
        self.record(StoreOp::Watch);
        Ok(futures::stream::iter([bookmark("1"), bookmark("2")]).boxed())
    }
}

/// Lets everything through.
struct PassThrough;

impl StoreLayer for PassThrough {}

/// What `admit` was shown: the op, the kind, the namespace and the name.
type SeenCall = (StoreOp, String, Option<String>, Option<String>);

/// Refuses every call, remembering what it was asked.
#[derive(Default)]
struct RefuseAll {
    seen: Mutex<Vec<SeenCall>>,
}

impl StoreLayer for RefuseAll {
    fn admit(&self, call: &StoreCall<'_>) -> Result<(), StoreError> {
        let seen = (call.op, call.resource.kind.to_string(), call.namespace.map(Into::into), call.name.map(Into::into));
        self.seen.lock().unwrap().push(seen);
        Err(StoreError::Forbidden { message: "refused".into() })
    }
}

/// Keeps only the first event of every watch.
struct FirstEventOnly;

#[async_trait]
impl StoreLayer for FirstEventOnly {
    async fn watch(
        &self,
        inner: &dyn ObjectStore,
        rt: &ResourceType,
        namespace: Option<&str>,
        params: &WatchParams,
    ) -> Result<WatchStream, StoreError> {
        Ok(inner.watch(rt, namespace, params).await?.take(1).boxed())
    }
}

/// Calls every method of `store` once, in [`StoreOp`] order; returns whether each succeeded.
async fn call_everything(store: &dyn ObjectStore) -> Vec<bool> {
    let pods = Pod::resource_type();
    let mut pod = object("web");
    pod.metadata.namespace = Some("default".into());
    let ns = Some("default");
    let patch = Patch::Merge(serde_json::json!({}));
    vec![
        store.create(&pods, pod.clone(), &Default::default()).await.is_ok(),
        store.get(&pods, ns, "web").await.is_ok(),
        store.list(&pods, ns, &Default::default()).await.is_ok(),
        store.update(&pods, pod.clone(), &Default::default()).await.is_ok(),
        store.update_status(&pods, pod, &Default::default()).await.is_ok(),
        store.patch(&pods, ns, "web", &patch, &Default::default()).await.is_ok(),
        store.delete(&pods, ns, "web", &Default::default()).await.is_ok(),
        store.bind("default", "web", "n1").await.is_ok(),
        store.evict("default", "web", &Default::default()).await.is_ok(),
        store.watch(&pods, ns, &Default::default()).await.is_ok(),
    ]
}

const EVERY_OP: [StoreOp; 10] = [
    StoreOp::Create,
    StoreOp::Get,
    StoreOp::List,
    StoreOp::Update,
    StoreOp::UpdateStatus,
    StoreOp::Patch,
    StoreOp::Delete,
    StoreOp::Bind,
    StoreOp::Evict,
    StoreOp::Watch,
];

#[test]
fn every_call_passes_through_an_admitting_layer() {
    let inner = Arc::new(Recorder::default());
    let store = LayeredStore::new(inner.clone(), PassThrough);
    let answers = DeterministicExecutor::new().block_on(call_everything(&store));
    assert_eq!(answers, [true; 10]);
    assert_eq!(inner.calls(), EVERY_OP);
    let ns = DeterministicExecutor::new().block_on(store.get(&Namespace::resource_type(), None, "a")).unwrap();
    assert_eq!(ns.metadata.name.as_deref(), Some("a"), "the inner store's answer comes back");
}

#[test]
fn a_refused_call_never_reaches_the_inner_store() {
    let inner = Arc::new(Recorder::default());
    let store = LayeredStore::new(inner.clone(), RefuseAll::default());
    let answers = DeterministicExecutor::new().block_on(call_everything(&store));
    assert_eq!(answers, [false; 10]);
    assert!(inner.calls().is_empty(), "inner store called: {:?}", inner.calls());
    let seen = store.layer().seen.lock().unwrap().clone();
    let ops: Vec<StoreOp> = seen.iter().map(|s| s.0).collect();
    assert_eq!(ops, EVERY_OP, "admit runs once per call");
    for (op, kind, namespace, name) in seen {
        assert_eq!(kind, "Pod", "{op:?}");
        assert_eq!(namespace.as_deref(), Some("default"), "{op:?}");
        let whole_kind = matches!(op, StoreOp::List | StoreOp::Watch);
        assert_eq!(name.as_deref(), (!whole_kind).then_some("web"), "{op:?}");
    }
}

#[test]
fn a_watch_layer_wraps_the_inner_stream() {
    let exec = DeterministicExecutor::new();
    let plain = LayeredStore::new(Arc::new(Recorder::default()), PassThrough);
    let wrapped = LayeredStore::new(Arc::new(Recorder::default()), FirstEventOnly);
    let events = |store: &dyn ObjectStore| {
        exec.block_on(async {
            let stream = store.watch(&Pod::resource_type(), None, &Default::default()).await.unwrap();
            stream.collect::<Vec<_>>().await
        })
    };
    assert_eq!(events(&plain), [bookmark("1"), bookmark("2")]);
    assert_eq!(events(&wrapped), [bookmark("1")]);
}
