//! The object-store contract: errors, parameters, watch events, the `ObjectStore` trait and typed `Api<K>`.

pub mod error;
