//! Object bytes in the store: JSON without `resourceVersion`, which comes from the key's mod revision.

use orch_core::{DynamicObject, StoreError};

use crate::kv::KeyValue;

/// Serializes an object for storage (its `resourceVersion` is not stored; it is left as it was).
///
/// # Errors
/// `TooLarge` when the encoding exceeds `limit` bytes; `Internal` if serialization fails.
pub fn encode(obj: &mut DynamicObject, limit: usize) -> Result<Vec<u8>, StoreError> {
    // Taken out for the write and put back, rather than serializing a copy of the object.
    let rv = obj.metadata.resource_version.take();
    let bytes = serde_json::to_vec(&*obj);
    obj.metadata.resource_version = rv;
    let bytes =
        bytes.map_err(|e| StoreError::internal(format!("encoding {} {:?}: {e}", obj.types.kind, obj.name())))?;
    if bytes.len() > limit {
        return Err(StoreError::TooLarge { size: bytes.len(), limit });
    }
    Ok(bytes)
}

/// Decodes a stored object and sets its `resourceVersion` to the key's mod revision.
///
/// # Errors
/// `Internal`, naming the key, when the stored bytes are not an object.
pub fn decode(kv: &KeyValue) -> Result<DynamicObject, StoreError> {
    decode_at(&kv.key, &kv.value, kv.mod_revision)
}

/// Decodes stored bytes, giving the object the resource version `revision`.
///
/// # Errors
/// `Internal`, naming the key, when the bytes are not an object.
pub fn decode_at(key: &[u8], value: &[u8], revision: i64) -> Result<DynamicObject, StoreError> {
    let mut obj: DynamicObject = serde_json::from_slice(value)
        .map_err(|e| StoreError::internal(format!("corrupt object at key {:?}: {e}", String::from_utf8_lossy(key))))?;
    obj.metadata.resource_version = Some(revision.to_string());
    Ok(obj)
}

/// Parses a resource version given by a client.
///
/// # Errors
/// `BadRequest` naming the value when it is not a non-negative integer.
pub fn parse_rv(rv: &str) -> Result<i64, StoreError> {
    rv.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| {
        StoreError::bad_request(format!("invalid resourceVersion {rv:?}: must be a non-negative integer"))
    })
}
