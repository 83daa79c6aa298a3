//! Field selectors such as `metadata.name=x,spec.nodeName!=n`.
