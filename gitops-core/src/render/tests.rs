use super::*;
use crate::fs::MemoryFs;

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n";

fn names(objects: &[Manifest]) -> Vec<String> {
    objects
        .iter()
        .map(|m| m.object.name().to_string())
        .collect()
}

#[test]
fn missing_path_is_named() {
    let fs = MemoryFs::new().with_file("a.yaml", "");
    assert_eq!(
        build(&fs, "./clusters/prod").unwrap_err().to_string(),
        "kustomization path not found: clusters/prod"
    );
}

#[test]
fn plain_directories_get_flux_generated_kustomization() {
    let fs = MemoryFs::new()
        .with_file(
            "apps/b.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
        )
        .with_file(
            "apps/a/c.yml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: c\n",
        )
        .with_file(
            "apps/base/kustomization.yaml",
            "namePrefix: k-\nresources:\n- cm.yaml\n",
        )
        .with_file("apps/base/cm.yaml", CM)
        .with_file("apps/README.md", "# not yaml");
    let objects = build(&fs, "apps").unwrap();
    assert_eq!(names(&objects), ["b", "k-x", "c"]);
    assert_eq!(objects[1].origin.file, "apps/base/cm.yaml");
}

#[test]
fn parse_errors_name_the_file() {
    let fs = MemoryFs::new().with_file("bad.yaml", "kind: [");
    let err = build(&fs, "").unwrap_err().to_string();
    assert!(
        err.starts_with("bad.yaml (document 0, line 1): malformed YAML"),
        "{err}"
    );
}

#[test]
fn root_and_empty_dirs() {
    let fs = MemoryFs::new().with_file("x/notes.txt", "hi");
    assert!(build(&fs, "").unwrap().is_empty());
    assert!(build(&fs, "x").unwrap().is_empty());
}

#[test]
fn errors_name_the_file_and_field() {
    let cases = [
        (
            "resources:\n- cm.yaml\nhelmCharts:\n- name: x\n",
            "k/kustomization.yaml: field 'helmCharts' is not supported by this renderer",
        ),
        (
            "resources:\n- cm.yaml\nbogus: 1\n",
            "k/kustomization.yaml: field 'bogus' is not a known kustomization field",
        ),
        (
            "resources:\n- missing.yaml\n",
            "k/kustomization.yaml: field 'resources[0]' resource 'missing.yaml' not found",
        ),
        (
            "resources:\n- ../../outside.yaml\n",
            "k/kustomization.yaml: field 'resources[0]' '../../outside.yaml' leaves the root directory",
        ),
        (
            "resources:\n- cm.yaml\nimages:\n- name: x\n  newTag: 1\n",
            "k/kustomization.yaml: field 'images[0].newTag' must be a string",
        ),
        (
            "resources:\n- cm.yaml\npatches:\n- patch: |\n    apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: other\n",
            "k/kustomization.yaml: field 'patches[0]' patch target not found: no ConfigMap named 'other' in the build",
        ),
    ];
    for (kustomization, want) in cases {
        let fs = MemoryFs::new()
            .with_file("k/kustomization.yaml", kustomization)
            .with_file("k/cm.yaml", CM);
        assert_eq!(build(&fs, "k").unwrap_err().to_string(), want);
    }
}

#[test]
fn files_stay_in_the_kustomization_directory_but_bases_may_be_anywhere() {
    let fs = MemoryFs::new()
        .with_file("base/kustomization.yaml", "resources:\n- cm.yaml\n")
        .with_file("base/cm.yaml", CM)
        .with_file(
            "overlays/prod/kustomization.yaml",
            "resources:\n- ../../base\npatches:\n- path: ../../base/cm.yaml\n",
        );
    let e = build(&fs, "overlays/prod").unwrap_err().to_string();
    assert_eq!(
        e,
        "overlays/prod/kustomization.yaml: field 'patches[0]' patch file '../../base/cm.yaml' is not in or below the kustomization's directory 'overlays/prod', which kustomize's default load restrictions require of files"
    );
    // Flux reads files anywhere in the artifact.
    assert_eq!(
        super::build_with(&fs, "overlays/prod", &super::Overlay::default())
            .unwrap()
            .len(),
        1
    );
    let fs = fs.with_file(
        "overlays/prod/kustomization.yaml",
        "resources:\n- ../../base\n",
    );
    assert_eq!(build(&fs, "overlays/prod").unwrap().len(), 1);
    let fs = fs.with_file(
        "overlays/prod/kustomization.yaml",
        "resources:\n- ../../base/cm.yaml\n",
    );
    assert!(build(&fs, "overlays/prod").unwrap_err().to_string().contains(
        "field 'resources[0]' file '../../base/cm.yaml' is not in or below the kustomization's directory"
    ));
}

#[test]
fn the_controller_reaches_bases_inside_the_artifact_and_nothing_outside() {
    let fs = MemoryFs::new()
        .with_file("apps/base/kustomization.yaml", "resources:\n- cm.yaml\n")
        .with_file("apps/base/cm.yaml", CM)
        .with_file(
            "clusters/prod/kustomization.yaml",
            "namePrefix: prod-\nresources:\n- ../../apps/base\n",
        );
    let built = super::build_with(&fs, "./clusters/prod", &super::Overlay::default()).unwrap();
    assert_eq!(built[0].object.name(), "prod-x");
    let fs = fs.with_file(
        "clusters/prod/kustomization.yaml",
        "resources:\n- ../../../elsewhere\n",
    );
    let e = super::build_with(&fs, "clusters/prod", &super::Overlay::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("'../../../elsewhere' leaves the root directory"),
        "{e}"
    );
}

#[test]
fn builtin_plugins_run_and_others_are_refused() {
    let fs = MemoryFs::new()
        .with_file(
            "k/kustomization.yaml",
            "resources:\n- cm.yaml\ntransformers:\n- |-\n  apiVersion: builtin\n  kind: PrefixSuffixTransformer\n  metadata:\n    name: x\n  prefix: p-\n  fieldSpecs:\n  - path: metadata/name\n    kind: ConfigMap\n",
        )
        .with_file("k/cm.yaml", CM);
    assert_eq!(build(&fs, "k").unwrap()[0].object.name(), "p-x");
    let fs = fs
        .with_file(
            "k/kustomization.yaml",
            "resources:\n- cm.yaml\ntransformers:\n- plugin.yaml\n",
        )
        .with_file(
            "k/plugin.yaml",
            "apiVersion: someteam.example.com/v1\nkind: ChartInflator\nmetadata:\n  name: x\n",
        );
    assert_eq!(
        build(&fs, "k").unwrap_err().to_string(),
        "k/kustomization.yaml: field 'transformers[0]' names the plugin someteam.example.com/v1/ChartInflator: only kustomize's built-in plugins (apiVersion: builtin) are supported, exec, Go and container plugins are not"
    );
}

#[test]
fn cycles_are_refused() {
    let fs = MemoryFs::new()
        .with_file("a/kustomization.yaml", "resources:\n- ../b\n")
        .with_file("b/kustomization.yaml", "resources:\n- ../a\n");
    assert_eq!(
        build(&fs, "a").unwrap_err().to_string(),
        "b/kustomization.yaml: field 'resources[0]' makes a cycle between kustomizations: a -> b -> a"
    );
}

#[test]
fn flux_overlay_is_laid_over_the_kustomization() {
    let fs = MemoryFs::new()
        .with_file(
            "app/kustomization.yaml",
            "namePrefix: a-\nresources:\n- cm.yaml\n",
        )
        .with_file("app/cm.yaml", CM);
    let overlay = Overlay {
        target_namespace: Some("prod".into()),
        name_suffix: Some("-v2".into()),
        patches: vec![Patch {
            patch: Some("- op: add\n  path: /data\n  value: {k: v}\n".into()),
            target: Some(Selector {
                kind: "ConfigMap".into(),
                ..Default::default()
            }),
            ..Default::default()
        }],
        ..Default::default()
    };
    let objects = build_with(&fs, "app", &overlay).unwrap();
    let obj = &objects[0].object;
    assert_eq!(obj.object_ref().to_string(), "ConfigMap/prod/a-x-v2");
    assert_eq!(obj.str_at(&["data", "k"]), Some("v"));

    let mut missing = Overlay {
        components: vec!["../gone".into()],
        ..Default::default()
    };
    let err = build_with(&fs, "app", &missing).unwrap_err().to_string();
    assert_eq!(
        err,
        "app/kustomization.yaml: field 'components[0]' component '../gone' not found"
    );
    missing.ignore_missing_components = true;
    assert_eq!(names(&build_with(&fs, "app", &missing).unwrap()), ["a-x"]);
}
