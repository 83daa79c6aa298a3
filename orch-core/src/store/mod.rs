//! The object-store contract: errors, parameters, watch events, the `ObjectStore` trait, layers in front of it and typed `Api<K>`.

mod api;
mod contract;
pub mod error;
mod layer;
mod params;
mod status;
mod watch;

pub use api::{Api, TypedEvent, TypedList};
pub use contract::ObjectStore;
pub use layer::{LayeredStore, StoreCall, StoreLayer, StoreOp};
pub use params::{
    DeleteOptions, DeleteOutcome, ListParams, ObjectList, PatchOptions, Preconditions, PropagationPolicy, Subresource,
    WatchParams, WriteOptions,
};
pub use status::{Status, StatusCause, StatusDetails};
pub use watch::{WatchEvent, WatchStream};
