//! Tables as flux prints them (flux2 `pkg/printers`, tablewriter with no borders and a tab
//! after each cell): headers upper-cased, every cell padded to its column's width and
//! followed by a tab, except the header's last cell, which is followed by a space.
//!
//! ```
//! use gitops_controllers::commands::table::render;
//! let text = render(&["Name", "Ready"], &[vec!["podinfo".into(), "True".into()]]);
//! assert_eq!(text, "NAME   \tREADY \npodinfo\tTrue \t\n");
//! ```

/// Renders a table; no header line when `headers` is empty (later rows of `get --watch`).
pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let columns = headers
        .len()
        .max(rows.iter().map(Vec::len).max().unwrap_or(0));
    let mut widths = vec![0usize; columns];
    for (i, h) in headers.iter().enumerate() {
        widths[i] = widths[i].max(h.chars().count());
    }
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let pad = |text: &str, width: usize| {
        let mut s = text.to_string();
        s.extend(std::iter::repeat_n(' ', width - text.chars().count()));
        s
    };
    let mut out = String::new();
    if !headers.is_empty() {
        let cells: Vec<String> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| pad(&h.to_uppercase(), widths[i]))
            .collect();
        out.push_str(&cells.join("\t"));
        out.push_str(" \n");
    }
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            out.push_str(&pad(cell, widths[i]));
            out.push('\t');
        }
        out.push('\n');
    }
    out
}

/// Flux's `TruncateHex`: every run of 40 to 128 lower-case hex digits standing as a word is
/// cut to its first 8 (`main@sha1:696f056d...` → `main@sha1:696f056d`).
pub fn truncate_hex(text: &str) -> String {
    let bytes = text.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let at_boundary = i == 0 || !word(bytes[i - 1]);
        if at_boundary && hex(bytes[i]) {
            let end = (i..bytes.len())
                .find(|&j| !hex(bytes[j]))
                .unwrap_or(bytes.len());
            let len = end - i;
            let ends_word = end == bytes.len() || !word(bytes[end]);
            if ends_word && (40..=128).contains(&len) {
                out.push_str(&text[i..i + 8]);
                i = end;
                continue;
            }
            out.push_str(&text[i..end]);
            i = end;
            continue;
        }
        // Copy one character (which may be several bytes).
        let next = text[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[i..i + next]);
        i += next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_fluxs_golden_table() {
        // flux2 cmd/flux/testdata/get/get.golden, first two lines.
        let rows = vec![
            vec![
                "podinfo".into(),
                "main@sha1:696f056d".into(),
                "False".into(),
                "True".into(),
                "Fetched revision: main@sha1:696f056d".into(),
            ],
            vec![
                "podinfo-shard1".into(),
                "main@sha1:696f056d".into(),
                "False".into(),
                "True".into(),
                "Fetched revision: main@sha1:696f056d".into(),
            ],
        ];
        let text = render(
            &["Name", "Revision", "Suspended", "Ready", "Message"],
            &rows,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "NAME          \tREVISION          \tSUSPENDED\tREADY\tMESSAGE                              "
        );
        assert_eq!(
            lines[1],
            "podinfo       \tmain@sha1:696f056d\tFalse    \tTrue \tFetched revision: main@sha1:696f056d\t"
        );
        assert!(lines.iter().all(|l| l.chars().count() == 87));
    }

    #[test]
    fn hex_runs_are_cut_to_eight() {
        let sha = "696f056df216eea4f9401adbee0ff744d4df390f";
        assert_eq!(
            truncate_hex(&format!("Applied revision: main@sha1:{sha}")),
            "Applied revision: main@sha1:696f056d"
        );
        assert_eq!(truncate_hex("short abc123"), "short abc123");
        assert_eq!(truncate_hex(&format!("x{sha}")), format!("x{sha}"));
        assert_eq!(truncate_hex("ünïcode ✔"), "ünïcode ✔");
    }
}
