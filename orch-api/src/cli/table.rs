//! `Table`: rows of cells printed in aligned columns, like kubectl's tab writer (three spaces between columns).

/// Spaces between two columns.
const GAP: usize = 3;

/// A header and rows of cells, rendered with every column as wide as its widest cell.
///
/// ```
/// use orch_api::cli::table::Table;
/// let mut t = Table::new(["NAME", "AGE"]);
/// t.push(vec!["web".into(), "5s".into()]);
/// t.push(vec!["database".into(), "3m".into()]);
/// assert_eq!(t.render(), "NAME       AGE\nweb        5s\ndatabase   3m\n");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles and no rows.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        Table { header: header.into_iter().map(Into::into).collect(), rows: Vec::new() }
    }

    /// Adds a row; missing cells print empty and extra cells are kept.
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// Puts a column in front of every row (as `-A` adds NAMESPACE).
    pub fn prepend_column(&mut self, title: &str, cells: Vec<String>) {
        self.header.insert(0, title.to_owned());
        for (row, cell) in self.rows.iter_mut().zip(cells) {
            row.insert(0, cell);
        }
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows.
    pub fn rows(&self) -> &[Vec<String>] {
        &self.rows
    }

    /// The width of each column: its widest cell, header included.
    pub fn widths(&self) -> Vec<usize> {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                let w = cell.chars().count();
                match widths.get_mut(i) {
                    Some(max) => *max = (*max).max(w),
                    None => widths.push(w),
                }
            }
        }
        widths
    }

    /// The header and every row.
    pub fn render(&self) -> String {
        let widths = self.widths();
        let mut out = render_row(&self.header, &widths);
        for row in &self.rows {
            out.push_str(&render_row(row, &widths));
        }
        out
    }

    /// The rows without the header (`--no-headers`), aligned to the widest cells.
    pub fn render_without_header(&self) -> String {
        let rows_only = Table { header: Vec::new(), rows: self.rows.clone() };
        self.render_rows(&rows_only.widths())
    }

    /// Only the rows (no header), aligned to `widths` (used for rows arriving on a watch).
    pub fn render_rows(&self, widths: &[usize]) -> String {
        self.rows.iter().map(|row| render_row(row, widths)).collect()
    }
}

/// One line: each cell padded to its column's width plus the gap, with no trailing spaces.
pub fn render_row(cells: &[String], widths: &[usize]) -> String {
    let mut line = String::new();
    let last = cells.len().saturating_sub(1);
    for (i, cell) in cells.iter().enumerate() {
        line.push_str(cell);
        if i < last {
            let width = widths.get(i).copied().unwrap_or(0);
            let pad = width.saturating_sub(cell.chars().count()) + GAP;
            line.extend(std::iter::repeat_n(' ', pad));
        }
    }
    let mut line = line.trim_end().to_owned();
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn columns_align_to_the_widest_cell_with_three_spaces() {
        let mut t = Table::new(["NAME", "READY", "STATUS"]);
        t.push(row(&["web-7d9f", "1/1", "Running"]));
        t.push(row(&["db", "0/1", "ContainerCreating"]));
        assert_eq!(
            t.render(),
            "NAME       READY   STATUS\nweb-7d9f   1/1     Running\ndb         0/1     ContainerCreating\n"
        );
    }

    #[test]
    fn last_column_has_no_trailing_spaces() {
        let mut t = Table::new(["A", "B"]);
        t.push(row(&["x", ""]));
        assert_eq!(t.render(), "A   B\nx\n");
    }

    #[test]
    fn prepended_namespace_column_aligns_too() {
        let mut t = Table::new(["NAME"]);
        t.push(row(&["a"]));
        t.push(row(&["b"]));
        t.prepend_column("NAMESPACE", row(&["kube-system", "default"]));
        assert_eq!(t.render(), "NAMESPACE     NAME\nkube-system   a\ndefault       b\n");
    }

    #[test]
    fn watch_rows_keep_the_first_widths_and_grow_when_wider() {
        let mut first = Table::new(["NAME", "AGE"]);
        first.push(row(&["a", "1s"]));
        let widths = first.widths();
        let mut next = Table::new(["NAME", "AGE"]);
        next.push(row(&["much-longer", "2s"]));
        next.push(row(&["b", "3s"]));
        assert_eq!(next.render_rows(&widths), "much-longer   2s\nb      3s\n");
    }

    #[test]
    fn rows_without_header_align_to_the_rows_alone() {
        let mut t = Table::new(["NAME", "AGE"]);
        t.push(row(&["a", "1s"]));
        t.push(row(&["bb", "2s"]));
        assert_eq!(t.render_without_header(), "a    1s\nbb   2s\n");
    }

    #[test]
    fn wide_characters_count_once() {
        let mut t = Table::new(["NAME", "X"]);
        t.push(row(&["żółw", "1"]));
        assert_eq!(t.render(), "NAME   X\nżółw   1\n");
    }
}
