//! `Quantity`: Kubernetes resource quantities ("100m", "1Gi", "2e3"), parsed exactly.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A resource quantity as written in a manifest (`"100m"`, `"0.5"`, `"1Gi"`, `500M`, `"2e3"`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Quantity(pub String);
