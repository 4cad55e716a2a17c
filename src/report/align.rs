//! Column alignment of the page's tables: numbers right-aligned (so that digits line up),
//! text left-aligned. A column is text when any of its body cells is: a cell is a
//! number when it starts with a digit (after an optional sign), and an empty or `n/a`
//! cell says nothing either way. Decided from the finished HTML so that every table,
//! present and future, follows one rule instead of each generator marking its cells.

/// `html` with ` class="t"` on every header and body cell of the tables' text columns
/// (the page's style left-aligns them; other cells are right-aligned).
pub(super) fn align_text_columns(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + 1024);
    let mut rest = html;
    while let Some(start) = rest.find("<table") {
        let Some(len) = rest[start..].find("</table>") else {
            break;
        };
        let end = start + len + "</table>".len();
        out.push_str(&rest[..start]);
        out.push_str(&align_table(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// One cell: where its opening tag ends (the `>`), its column and whether it is a body
/// cell, and its text without tags.
struct Cell {
    tag_end: usize,
    column: usize,
    body: bool,
    text: String,
}

fn align_table(table: &str) -> String {
    let cells = cells(table);
    let columns = cells.iter().map(|c| c.column + 1).max().unwrap_or(0);
    let mut text = vec![false; columns];
    for c in cells.iter().filter(|c| c.body) {
        if !says_number(&c.text) {
            text[c.column] = true;
        }
    }
    let mut out = String::with_capacity(table.len() + 64);
    let mut from = 0;
    for c in cells.iter().filter(|c| text[c.column]) {
        out.push_str(&table[from..c.tag_end]);
        out.push_str(" class=\"t\"");
        from = c.tag_end;
    }
    out.push_str(&table[from..]);
    out
}

/// The header and body cells of a table in document order, with their columns.
fn cells(table: &str) -> Vec<Cell> {
    let mut cells = Vec::new();
    let (mut column, mut body) = (0, false);
    let mut at = 0;
    while let Some(i) = table[at..].find('<') {
        let i = at + i;
        let tag = &table[i..];
        if tag.starts_with("<tbody") {
            body = true;
        } else if tag.starts_with("<tr") {
            column = 0;
        } else if tag.starts_with("<td") || tag.starts_with("<th") && !tag.starts_with("<thead") {
            let Some(open) = tag.find('>') else { break };
            let close = if tag.starts_with("<td") {
                "</td>"
            } else {
                "</th>"
            };
            let inner_start = i + open + 1;
            let inner_len = table[inner_start..].find(close).unwrap_or(0);
            cells.push(Cell {
                tag_end: i + open,
                column,
                body: body && tag.starts_with("<td"),
                text: strip_tags(&table[inner_start..inner_start + inner_len]),
            });
            column += 1;
            at = inner_start + inner_len;
            continue;
        }
        at = i + 1;
    }
    cells
}

fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for ch in s.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}

/// Whether a cell reads as a number (or says nothing: empty, `n/a`).
fn says_number(text: &str) -> bool {
    if text.is_empty() || text == "n/a" {
        return true;
    }
    let digits = text.trim_start_matches(['-', '+', '\u{2212}']);
    digits.starts_with(|c: char| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_columns_are_marked_and_number_columns_are_not() {
        let html = "<p>before</p><table>\n<thead><tr><th>rank</th><th>customer</th><th>CLV</th><th>segment</th></tr></thead>\n<tbody>\n<tr><td>1</td><td>s12</td><td>189.47</td><td>top spend</td></tr>\n<tr><td>2</td><td>s7</td><td>-3.10</td><td><strong>lapsed</strong></td></tr>\n</tbody>\n</table><p>after</p>";
        let out = align_text_columns(html);
        assert!(out.starts_with("<p>before</p>") && out.ends_with("<p>after</p>"));
        assert!(out.contains("<th class=\"t\">customer</th>"));
        assert!(out.contains("<th class=\"t\">segment</th>"));
        assert!(out.contains("<td class=\"t\"><strong>lapsed</strong></td>"));
        assert!(out.contains("<th>CLV</th>") && out.contains("<td>-3.10</td>"));
        // The first column is text too: the rule is the same for every column.
        assert!(out.contains("<th>rank</th>") && out.contains("<td>1</td>"));
    }

    #[test]
    fn empty_and_na_cells_do_not_make_a_column_text() {
        let html = "<table><thead><tr><th>a</th><th>retention</th></tr></thead><tbody><tr><td>x</td><td></td></tr><tr><td>y</td><td>n/a</td></tr><tr><td>z</td><td>74.2%</td></tr></tbody></table>";
        let out = align_text_columns(html);
        assert!(out.contains("<th>retention</th>"));
        assert!(out.contains("<td class=\"t\">x</td>"));
        // A page without tables is unchanged.
        assert_eq!(align_text_columns("<p>no tables</p>"), "<p>no tables</p>");
    }
}
