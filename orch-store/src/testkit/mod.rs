//! Contract test kits that every backend passes (feature `testkit`).
//!
//! - [`object`]: the object-store contract, over any `Arc<dyn ObjectStore>`.

pub mod object;
