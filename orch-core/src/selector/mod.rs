//! Label and field selectors: parse, match and display.
//!
//! - [`label`]: the structured [`LabelSelector`](label::LabelSelector) objects carry, the parsed
//!   [`Selector`](label::Selector) with its string form (`app=web,env in (a,b),!legacy`), and the
//!   label key/value syntax checks.
//! - [`field`]: [`FieldSelector`](field::FieldSelector) (`spec.nodeName=n1,status.phase!=Running`),
//!   matched against [`DynamicObject`](crate::DynamicObject)s or any field lookup.

pub mod field;
pub mod label;

/// Writes `items` separated by commas: the display form of a selector.
fn write_comma_separated<T: std::fmt::Display>(f: &mut std::fmt::Formatter<'_>, items: &[T]) -> std::fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}
