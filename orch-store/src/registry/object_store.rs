//! `ObjectStore` for `Registry`: the contract's methods, each delegating to its concern.

use async_trait::async_trait;
use orch_core::store::{
    DeleteOptions, DeleteOutcome, ListParams, ObjectList, ObjectStore, PatchOptions, Subresource, WatchParams,
    WatchStream, WriteOptions,
};
use orch_core::{DynamicObject, Patch, ResourceType, StoreError};

use super::Registry;

#[async_trait]
impl ObjectStore for Registry {
    async fn create(
        &self,
        rt: &ResourceType,
        obj: DynamicObject,
        opts: &WriteOptions,
    ) -> Result<DynamicObject, StoreError> {
        self.create_object(rt, obj, opts.dry_run).await
    }

    async fn get(&self, rt: &ResourceType, namespace: Option<&str>, name: &str) -> Result<DynamicObject, StoreError> {
        self.get_object(rt, namespace, name).await
    }

    async fn list(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        params: &ListParams,
    ) -> Result<ObjectList, StoreError> {
        self.list_objects(rt, namespace, params).await
    }

    async fn update(
        &self,
        rt: &ResourceType,
        obj: DynamicObject,
        opts: &WriteOptions,
    ) -> Result<DynamicObject, StoreError> {
        self.update_object(rt, obj, Subresource::Main, opts.dry_run).await
    }

    async fn update_status(
        &self,
        rt: &ResourceType,
        obj: DynamicObject,
        opts: &WriteOptions,
    ) -> Result<DynamicObject, StoreError> {
        self.update_object(rt, obj, Subresource::Status, opts.dry_run).await
    }

    async fn patch(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        patch: &Patch,
        opts: &PatchOptions,
    ) -> Result<DynamicObject, StoreError> {
        self.patch_object(rt, namespace, name, patch, opts.subresource, opts.dry_run).await
    }

    async fn delete(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<DeleteOutcome, StoreError> {
        self.delete_object(rt, namespace, name, opts).await
    }

    async fn bind(&self, namespace: &str, pod: &str, node_name: &str) -> Result<DynamicObject, StoreError> {
        self.bind_pod(namespace, pod, node_name).await
    }

    async fn evict(&self, namespace: &str, pod: &str, opts: &DeleteOptions) -> Result<(), StoreError> {
        self.evict_pod(namespace, pod, opts).await
    }

    async fn watch(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        params: &WatchParams,
    ) -> Result<WatchStream, StoreError> {
        self.watch_objects(rt, namespace, params).await
    }
}
