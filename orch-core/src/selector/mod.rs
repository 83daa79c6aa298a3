//! Label and field selectors: parse, match and display.

pub mod field;
pub mod label;
