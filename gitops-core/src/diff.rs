//! Temporary stand-in, replaced by the real diff module.
#![allow(missing_docs)]
use serde_json::Value;

use crate::Object;

#[derive(Clone, Debug, PartialEq)]
pub enum ChangeKind {
    Added,
    Modified,
    Removed,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub path: String,
    pub kind: ChangeKind,
    pub desired: Option<Value>,
    pub live: Option<Value>,
}

pub fn normalize(object: &Object) -> Object {
    let mut o = object.clone();
    o.as_map_mut().remove("status");
    o
}

pub fn compare(desired: &Object, live: &Object) -> Vec<Change> {
    let mut out = Vec::new();
    walk("", &desired.to_value(), &live.to_value(), &mut out);
    out
}

fn walk(path: &str, d: &Value, l: &Value, out: &mut Vec<Change>) {
    match (d, l) {
        (Value::Object(dm), Value::Object(lm)) => {
            for (k, dv) in dm {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if p == "metadata.managedFields"
                    || p == "metadata.resourceVersion"
                    || p == "metadata.uid"
                    || p == "metadata.generation"
                    || p == "metadata.creationTimestamp"
                {
                    continue;
                }
                match lm.get(k) {
                    Some(lv) => walk(&p, dv, lv, out),
                    None => out.push(Change {
                        path: p,
                        kind: ChangeKind::Added,
                        desired: Some(dv.clone()),
                        live: None,
                    }),
                }
            }
        }
        _ if d == l => {}
        _ => out.push(Change {
            path: path.into(),
            kind: ChangeKind::Modified,
            desired: Some(d.clone()),
            live: Some(l.clone()),
        }),
    }
}
