//! Validation with field paths: name and label rules and the checks of the built-in kinds.

pub mod field_error;
pub mod kinds;
pub mod names;
