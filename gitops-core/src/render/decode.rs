//! Reading resource and patch files the way kustomize's kyaml reads them: YAML 1.2
//! booleans (`yes` stays a string) but Go's integer syntax, so `0644` is octal 420 and
//! `1_000` is 1000, as a `defaultMode: 0644` must come out of a build. The parsing itself lives
//! in [`crate::manifests`], which reads every manifest that way.

pub(crate) use crate::manifests::{documents, parse_resources as resources};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn numbers_read_as_kyaml_reads_them() {
        let m = resources(
            "x.yaml",
            "---\napiVersion: v1\nkind: A\nmetadata:\n  name: a\nspec:\n  mode: 0644\n  big: 1_000\n  on: yes\n---\n# empty\n",
        )
        .unwrap();
        assert_eq!(m.len(), 1);
        let v = m[0].object.to_value();
        assert_eq!(v["spec"]["mode"], 420);
        assert_eq!(v["spec"]["big"], 1000);
        assert_eq!(v["spec"]["on"], "yes");
        assert_eq!(m[0].origin.line, 2);
        let inline = documents("y.yaml", "--- {a: 1}\n--- # note\nb: 2\n").unwrap();
        assert_eq!(inline.len(), 2);
        assert_eq!(inline[0].0["a"], 1);
        assert_eq!(
            (inline[1].0["b"].clone(), inline[1].1.line),
            (Value::from(2), 3)
        );
    }
}
