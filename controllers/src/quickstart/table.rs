//! `kubectl get` as kubectl prints it: the API server's Table for a list path (columns of
//! priority 0, the name first), laid out in columns three spaces apart.

use anyhow::{Context as _, Result};
use serde_json::Value;

/// The table of the objects at `path` (a list path such as
/// `/apis/apps/v1/namespaces/default/deployments`), or kubectl's line for none.
pub(crate) async fn get(client: &kube::Client, path: &str) -> Result<String> {
    let request = axum::http::Request::get(path)
        .header(
            axum::http::header::ACCEPT,
            "application/json;as=Table;v=v1;g=meta.k8s.io",
        )
        .body(Vec::new())
        .context("the table request")?;
    let table: Value = client
        .request(request)
        .await
        .with_context(|| format!("cannot get {path}"))?;
    Ok(render(&table))
}

/// Lays out a `meta.k8s.io/v1` Table.
fn render(table: &Value) -> String {
    let empty = Vec::new();
    let columns = table["columnDefinitions"].as_array().unwrap_or(&empty);
    let shown: Vec<usize> = (0..columns.len())
        .filter(|&i| columns[i]["priority"].as_i64().unwrap_or(0) == 0)
        .collect();
    let rows = table["rows"].as_array().unwrap_or(&empty);
    if rows.is_empty() {
        return "No resources found.\n".into();
    }
    let cell = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "<none>".into(),
        other => other.to_string(),
    };
    let mut lines: Vec<Vec<String>> = vec![
        shown
            .iter()
            .map(|&i| columns[i]["name"].as_str().unwrap_or("").to_uppercase())
            .collect(),
    ];
    for row in rows {
        let cells = row["cells"].as_array().unwrap_or(&empty);
        lines.push(
            shown
                .iter()
                .map(|&i| cells.get(i).map(cell).unwrap_or_default())
                .collect(),
        );
    }
    let widths: Vec<usize> = (0..shown.len())
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = String::new();
    for line in lines {
        let mut out = String::new();
        for (c, value) in line.iter().enumerate() {
            if c + 1 == line.len() {
                out.push_str(value);
            } else {
                out.push_str(&format!("{value:<width$}   ", width = widths[c]));
            }
        }
        text.push_str(out.trim_end());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn columns_of_priority_zero_are_aligned() {
        let table = json!({
            "columnDefinitions": [
                {"name": "Name", "priority": 0}, {"name": "Age", "priority": 0},
                {"name": "Wide", "priority": 1}, {"name": "Status", "priority": 0},
            ],
            "rows": [{"cells": ["podinfo", "5s", "x", "Applied revision: main@sha1:ab"]}],
        });
        assert_eq!(
            super::render(&table),
            "NAME      AGE   STATUS\npodinfo   5s    Applied revision: main@sha1:ab\n"
        );
        assert_eq!(super::render(&json!({"rows": []})), "No resources found.\n");
    }
}
