//! `DynamicObject`: any object as typed metadata plus untyped JSON, and conversion to and from typed kinds.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::{FieldError, FieldErrors, ObjectMeta, Resource, TypeMeta};

/// An object of any kind: `apiVersion`, `kind` and `metadata` typed, every other field kept as JSON.
///
/// This is what the store, the API server and manifests carry. Unknown fields are preserved.
///
/// ```
/// use orch_core::{DynamicObject, kinds::Pod};
/// let obj: DynamicObject = serde_json::from_str(
///     r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"busybox"}]},"x-extra":1}"#,
/// ).unwrap();
/// assert_eq!(obj.metadata.name.as_deref(), Some("p"));
/// assert_eq!(obj.data["x-extra"], 1);
/// let pod: Pod = obj.to_typed().unwrap();
/// assert_eq!(pod.spec.containers[0].image, "busybox");
/// let back = DynamicObject::from_typed(&pod).unwrap();
/// assert_eq!(back.types.kind, "Pod");
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DynamicObject {
    /// `apiVersion` and `kind`.
    pub types: TypeMeta,
    /// `metadata`.
    pub metadata: ObjectMeta,
    /// Every other top-level field (`spec`, `status`, `data`, ...).
    pub data: Map<String, Value>,
}

impl DynamicObject {
    /// An empty object of the given type.
    pub fn new(api_version: impl Into<String>, kind: impl Into<String>, metadata: ObjectMeta) -> Self {
        DynamicObject { types: TypeMeta::new(api_version, kind), metadata, data: Map::new() }
    }

    /// Converts a typed object, adding its `apiVersion` and `kind`.
    ///
    /// # Errors
    /// When the value cannot be serialized to a JSON object (a `Serialize` impl that fails or is not a map).
    pub fn from_typed<K: Resource>(obj: &K) -> Result<Self, serde_json::Error> {
        let Value::Object(mut data) = serde_json::to_value(obj)? else {
            return Err(serde::ser::Error::custom(format!("kind {} does not serialize to a JSON object", K::KIND)));
        };
        data.remove("metadata");
        data.remove("apiVersion");
        data.remove("kind");
        Ok(DynamicObject { types: TypeMeta::new(K::api_version(), K::KIND), metadata: obj.meta().clone(), data })
    }

    /// Decodes into a typed kind; a field of the wrong shape is reported with its path.
    ///
    /// # Errors
    /// One [`FieldError`] naming the first field that does not fit `K`.
    pub fn to_typed<K: Resource>(&self) -> Result<K, FieldErrors> {
        // Decode straight from the borrowed fields (no deep copy of spec and status); only when
        // that fails, decode again tracking the path so the error can name the field.
        let meta = serde_json::to_value(&self.metadata).unwrap_or(Value::Null);
        if let Ok(obj) = K::deserialize(BorrowedObject { obj: self, meta: &meta }) {
            return Ok(obj);
        }
        let mut track = serde_path_to_error::Track::new();
        let de = serde_path_to_error::Deserializer::new(BorrowedObject { obj: self, meta: &meta }, &mut track);
        K::deserialize(de).map_err(|e| {
            let path = track.path().to_string();
            let path = if path == "." { String::new() } else { path };
            FieldErrors::from(FieldError::invalid(path, e.to_string()))
        })
    }

    /// The whole object as one JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Parses one JSON value into an object.
    ///
    /// # Errors
    /// When the value is not an object or `metadata` has the wrong shape.
    pub fn from_value(value: Value) -> Result<Self, serde_json::Error> {
        serde_json::from_value(value)
    }

    /// The `spec` field, if present.
    pub fn spec(&self) -> Option<&Value> {
        self.data.get("spec")
    }

    /// The `status` field, if present.
    pub fn status(&self) -> Option<&Value> {
        self.data.get("status")
    }

    /// The name, or `""`.
    pub fn name(&self) -> &str {
        self.metadata.name_str()
    }

    /// The namespace, or `""`.
    pub fn namespace(&self) -> &str {
        self.metadata.namespace_str()
    }

    /// Looks up a dotted field path such as `spec.nodeName` or `metadata.labels.app` and renders
    /// scalars as strings (as field selectors compare them).
    pub fn field_str(&self, path: &str) -> Option<String> {
        let mut parts = path.split('.');
        let first = parts.next()?;
        let mut cur: Value = match first {
            "metadata" => serde_json::to_value(&self.metadata).ok()?,
            "apiVersion" => return Some(self.types.api_version.clone()),
            "kind" => return Some(self.types.kind.clone()),
            other => self.data.get(other)?.clone(),
        };
        for p in parts {
            cur = cur.get(p)?.clone();
        }
        match cur {
            Value::String(s) => Some(s),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            Value::Null => Some(String::new()),
            _ => None,
        }
    }
}

impl Serialize for DynamicObject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3 + self.data.len()))?;
        m.serialize_entry("apiVersion", &self.types.api_version)?;
        m.serialize_entry("kind", &self.types.kind)?;
        m.serialize_entry("metadata", &self.metadata)?;
        for (k, v) in &self.data {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for DynamicObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DynamicObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object with apiVersion, kind and metadata")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DynamicObject, A::Error> {
                let mut out = DynamicObject::default();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match &*key {
                        "apiVersion" => out.types.api_version = map.next_value::<Option<String>>()?.unwrap_or_default(),
                        "kind" => out.types.kind = map.next_value::<Option<String>>()?.unwrap_or_default(),
                        "metadata" => {
                            // Only a mapping (or null) is metadata; serde would otherwise read a
                            // list positionally into the struct's fields.
                            out.metadata = match map.next_value::<Value>()? {
                                Value::Null => ObjectMeta::default(),
                                v @ Value::Object(_) => match ObjectMeta::deserialize(&v) {
                                    Ok(meta) => meta,
                                    Err(_) => serde_path_to_error::deserialize::<_, ObjectMeta>(v).map_err(|e| {
                                        de::Error::custom(format!("metadata.{}: {}", e.path(), e.inner()))
                                    })?,
                                },
                                _ => return Err(de::Error::custom("metadata: expected an object")),
                            };
                        }
                        _ => {
                            let v: Value = map.next_value()?;
                            out.data.insert(key.into_owned(), v);
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V).map_err(|e: D::Error| de::Error::custom(e))
    }
}

/// A deserializer over a borrowed object: `apiVersion` and `kind` as strings, `metadata` from its
/// JSON form, every other field straight from the stored JSON.
struct BorrowedObject<'a> {
    obj: &'a DynamicObject,
    meta: &'a Value,
}

enum Field<'a> {
    Str(&'a str),
    Json(&'a Value),
}

struct BorrowedFields<'a> {
    fields: std::vec::IntoIter<(&'a str, Field<'a>)>,
    next: Option<Field<'a>>,
}

impl<'de> Deserializer<'de> for BorrowedObject<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let mut fields = Vec::with_capacity(3 + self.obj.data.len());
        fields.push(("apiVersion", Field::Str(&self.obj.types.api_version)));
        fields.push(("kind", Field::Str(&self.obj.types.kind)));
        fields.push(("metadata", Field::Json(self.meta)));
        fields.extend(self.obj.data.iter().map(|(k, v)| (k.as_str(), Field::Json(v))));
        visitor.visit_map(BorrowedFields { fields: fields.into_iter(), next: None })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de> MapAccess<'de> for BorrowedFields<'de> {
    type Error = serde_json::Error;

    fn next_key_seed<S: de::DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, Self::Error> {
        match self.fields.next() {
            Some((key, value)) => {
                self.next = Some(value);
                seed.deserialize(de::value::BorrowedStrDeserializer::new(key)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<S: de::DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Self::Error> {
        match self.next.take() {
            Some(Field::Str(s)) => seed.deserialize(de::value::BorrowedStrDeserializer::new(s)),
            Some(Field::Json(v)) => seed.deserialize(v),
            None => Err(de::Error::custom("value requested before its key")),
        }
    }
}
