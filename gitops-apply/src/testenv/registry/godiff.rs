//! apimachinery's `diff.Diff(a, b)`, which some validation messages append: both values are
//! marshalled with Go's `json.MarshalIndent(v, "", " ")` and compared line by line as
//! go-difflib's unified diff does (three lines of context, no file header). Together with the
//! internal layouts of [`super::internal`] this reproduces the diff a message prints for the
//! internal Go value.
//!
//! The line matching follows difflib's `SequenceMatcher`: the longest matching block first,
//! then the same on both sides of it, so hunks split where difflib splits them. Inputs here
//! are far below the 200 lines at which difflib starts treating frequent lines as junk.

use serde_json::Value;

/// `diff.Diff(a, b)` of two values already in their Go field layout.
pub(crate) fn diff(a: &Value, b: &Value) -> String {
    let (a, b) = (marshal_indent(a), marshal_indent(b));
    unified(&split_lines(&a), &split_lines(&b), 3)
}

/// Go's `json.MarshalIndent(v, "", " ")`: keys in the order given, HTML characters escaped.
pub(crate) fn marshal_indent(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, 0, &mut out);
    out
}

fn write_value(value: &Value, depth: usize, out: &mut String) {
    let pad = |n: usize| " ".repeat(n);
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push_str("{\n");
            for (i, (key, v)) in map.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                out.push_str(&go_string(key));
                out.push_str(": ");
                write_value(v, depth + 1, out);
                if i + 1 < map.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&pad(depth));
            out.push('}');
        }
        Value::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, v) in items.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                write_value(v, depth + 1, out);
                if i + 1 < items.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&pad(depth));
            out.push(']');
        }
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
        Value::String(s) => out.push_str(&go_string(s)),
        other => out.push_str(&other.to_string()),
    }
}

/// A JSON string as Go's encoder writes it: `<`, `>` and `&` escaped as `\u003c` and so on.
fn go_string(s: &str) -> String {
    Value::String(s.to_string())
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// go-difflib's `SplitLines`: every line keeps its newline, the last one gets one.
fn split_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    match lines.last_mut() {
        Some(last) if !last.ends_with('\n') => last.push('\n'),
        Some(_) => lines.push("\n".to_string()),
        None => lines.push("\n".to_string()),
    }
    lines
}

/// `(a_start, b_start, length)` of the longest block of equal lines within the ranges, the
/// earliest in `a` (then in `b`) among equally long ones, as difflib picks it.
fn longest_match(
    a: &[String],
    b: &[String],
    (alo, ahi): (usize, usize),
    (blo, bhi): (usize, usize),
) -> (usize, usize, usize) {
    let mut best = (alo, blo, 0);
    let mut lengths = vec![0usize; bhi.saturating_sub(blo) + 1];
    for (i, line) in a.iter().enumerate().take(ahi).skip(alo) {
        let mut next = vec![0usize; lengths.len()];
        for (j, other) in b.iter().enumerate().take(bhi).skip(blo) {
            if line == other {
                let k = if j > blo { lengths[j - blo - 1] } else { 0 } + 1;
                next[j - blo] = k;
                if k > best.2 {
                    best = (i + 1 - k, j + 1 - k, k);
                }
            }
        }
        lengths = next;
    }
    best
}

/// difflib's `get_matching_blocks`, ending with the `(len a, len b, 0)` sentinel.
fn matching_blocks(a: &[String], b: &[String]) -> Vec<(usize, usize, usize)> {
    let mut queue = vec![(0, a.len(), 0, b.len())];
    let mut blocks = Vec::new();
    while let Some((alo, ahi, blo, bhi)) = queue.pop() {
        let (i, j, k) = longest_match(a, b, (alo, ahi), (blo, bhi));
        if k > 0 {
            blocks.push((i, j, k));
            if alo < i && blo < j {
                queue.push((alo, i, blo, j));
            }
            if i + k < ahi && j + k < bhi {
                queue.push((i + k, ahi, j + k, bhi));
            }
        }
    }
    blocks.sort_unstable();
    let mut collapsed: Vec<(usize, usize, usize)> = Vec::new();
    for (i, j, k) in blocks {
        match collapsed.last_mut() {
            Some(last) if last.0 + last.2 == i && last.1 + last.2 == j => last.2 += k,
            _ => collapsed.push((i, j, k)),
        }
    }
    collapsed.push((a.len(), b.len(), 0));
    collapsed
}

#[derive(Clone, Copy, PartialEq)]
enum Tag {
    Equal,
    Replace,
    Delete,
    Insert,
}

type Op = (Tag, usize, usize, usize, usize);

fn opcodes(a: &[String], b: &[String]) -> Vec<Op> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    for (ai, bj, size) in matching_blocks(a, b) {
        let tag = match (i < ai, j < bj) {
            (true, true) => Some(Tag::Replace),
            (true, false) => Some(Tag::Delete),
            (false, true) => Some(Tag::Insert),
            (false, false) => None,
        };
        if let Some(tag) = tag {
            out.push((tag, i, ai, j, bj));
        }
        (i, j) = (ai + size, bj + size);
        if size > 0 {
            out.push((Tag::Equal, ai, i, bj, j));
        }
    }
    out
}

/// difflib's `get_grouped_opcodes(n)`: changes with up to `n` lines of context.
fn grouped(a: &[String], b: &[String], n: usize) -> Vec<Vec<Op>> {
    let mut codes = opcodes(a, b);
    if codes.is_empty() {
        codes.push((Tag::Equal, 0, 1, 0, 1));
    }
    if let Some(first) = codes.first_mut()
        && first.0 == Tag::Equal
    {
        let (_, i1, i2, j1, j2) = *first;
        *first = (
            Tag::Equal,
            i1.max(i2.saturating_sub(n)),
            i2,
            j1.max(j2.saturating_sub(n)),
            j2,
        );
    }
    if let Some(last) = codes.last_mut()
        && last.0 == Tag::Equal
    {
        let (_, i1, i2, j1, j2) = *last;
        *last = (Tag::Equal, i1, i2.min(i1 + n), j1, j2.min(j1 + n));
    }
    let mut groups = Vec::new();
    let mut group = Vec::new();
    for (tag, mut i1, i2, mut j1, j2) in codes {
        if tag == Tag::Equal && i2 - i1 > 2 * n {
            group.push((tag, i1, i2.min(i1 + n), j1, j2.min(j1 + n)));
            groups.push(std::mem::take(&mut group));
            i1 = i1.max(i2.saturating_sub(n));
            j1 = j1.max(j2.saturating_sub(n));
        }
        group.push((tag, i1, i2, j1, j2));
    }
    if !(group.is_empty() || group.len() == 1 && group[0].0 == Tag::Equal) {
        groups.push(group);
    }
    groups
}

/// difflib's unified range: `start,length`, or `start` alone for one line.
fn range(start: usize, stop: usize) -> String {
    let length = stop - start;
    match length {
        1 => format!("{}", start + 1),
        0 => format!("{start},0"),
        _ => format!("{},{length}", start + 1),
    }
}

fn unified(a: &[String], b: &[String], context: usize) -> String {
    let mut out = String::new();
    for group in grouped(a, b, context) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            range(first.1, last.2),
            range(first.3, last.4)
        ));
        for (tag, i1, i2, j1, j2) in group {
            if tag == Tag::Equal {
                for line in &a[i1..i2] {
                    out.push(' ');
                    out.push_str(line);
                }
                continue;
            }
            if matches!(tag, Tag::Replace | Tag::Delete) {
                for line in &a[i1..i2] {
                    out.push('-');
                    out.push_str(line);
                }
            }
            if matches!(tag, Tag::Replace | Tag::Insert) {
                for line in &b[j1..j2] {
                    out.push('+');
                    out.push_str(line);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn marshal_indent_matches_go() {
        let value = json!({"A": ["x", "<y>"], "B": null, "C": {}, "D": {"E": 1}});
        assert_eq!(
            marshal_indent(&value),
            "{\n \"A\": [\n  \"x\",\n  \"\\u003cy\\u003e\"\n ],\n \"B\": null,\n \"C\": {},\n \"D\": {\n  \"E\": 1\n }\n}"
        );
    }

    #[test]
    fn a_changed_line_gets_three_lines_of_context_and_difflib_ranges() {
        let old = json!({"AccessModes": ["ReadWriteOnce"], "Selector": null,
            "Resources": {"Limits": null}, "VolumeName": ""});
        let new = json!({"AccessModes": ["ReadWriteMany"], "Selector": null,
            "Resources": {"Limits": null}, "VolumeName": ""});
        assert_eq!(
            diff(&old, &new),
            "@@ -1,6 +1,6 @@\n {\n  \"AccessModes\": [\n-  \"ReadWriteOnce\"\n+  \"ReadWriteMany\"\n  ],\n  \"Selector\": null,\n  \"Resources\": {\n"
        );
    }

    #[test]
    fn distant_changes_make_separate_hunks() {
        let lines = |changed: &[usize]| -> Vec<String> {
            (0..20)
                .map(|i| {
                    if changed.contains(&i) {
                        format!("x{i}\n")
                    } else {
                        format!("{i}\n")
                    }
                })
                .collect()
        };
        let out = unified(&lines(&[]), &lines(&[2, 15]), 3);
        assert_eq!(out.matches("@@ -").count(), 2);
        assert!(out.starts_with("@@ -1,6 +1,6 @@\n 0\n 1\n-2\n+x2\n"));
        assert!(out.contains("@@ -13,7 +13,7 @@\n"));
        assert_eq!(unified(&lines(&[]), &lines(&[]), 3), "");
    }
}
