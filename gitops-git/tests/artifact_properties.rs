//! Invariants of the artifact format, over generated trees: packing is deterministic and
//! independent of the order entries are found in, and extraction gives back exactly the
//! files that were packed, with their contents and executable bits.

use std::collections::BTreeMap;

use gitops_git::artifact::{Packer, walk_order};
use gitops_git::extract::{Limits, extract};
use proptest::prelude::*;

/// An executable bit and contents.
type File = (bool, Vec<u8>);
/// A path, and its file or `None` for a directory.
type Entry = (String, Option<File>);

/// Files by path; directories are implied by the paths.
fn tree() -> impl Strategy<Value = BTreeMap<String, File>> {
    let name = "[a-zA-Z0-9_.-]{1,8}".prop_filter("not . or ..", |n| n != "." && n != "..");
    let path = proptest::collection::vec(name, 1..4).prop_map(|parts| parts.join("/"));
    proptest::collection::btree_map(
        path,
        (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..64)),
        0..12,
    )
    .prop_filter("no file is also a directory", |files| {
        files
            .keys()
            .all(|p| !files.keys().any(|q| q.starts_with(&format!("{p}/"))))
    })
}

fn entries(files: &BTreeMap<String, File>) -> Vec<Entry> {
    let mut all: BTreeMap<String, Option<File>> = BTreeMap::new();
    for (path, file) in files {
        let parts: Vec<&str> = path.split('/').collect();
        for i in 1..parts.len() {
            all.entry(parts[..i].join("/")).or_insert(None);
        }
        all.insert(path.clone(), Some(file.clone()));
    }
    all.into_iter().collect()
}

fn pack(mut list: Vec<Entry>) -> Result<Vec<u8>, gitops_git::Error> {
    list.sort_by(|a, b| walk_order(&a.0, &b.0));
    let mut packer = Packer::new(Vec::new())?;
    for (path, file) in &list {
        match file {
            None => packer.dir(path)?,
            Some((exec, data)) => packer.file(path, *exec, data)?,
        }
    }
    Ok(packer.finish()?.writer)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn packing_is_deterministic_and_order_independent(files in tree(), seed in any::<u64>()) {
        let list = entries(&files);
        let mut shuffled = list.clone();
        // A deterministic shuffle from the seed.
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let a = pack(list).unwrap();
        let b = pack(shuffled).unwrap();
        prop_assert_eq!(a, b);
    }

    #[test]
    fn extraction_gives_back_what_was_packed(files in tree()) {
        let bytes = pack(entries(&files)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let summary = extract(bytes.as_slice(), dir.path(), &Limits::default()).unwrap();
        prop_assert_eq!(summary.files, files.len());
        for (path, (exec, data)) in &files {
            let p = dir.path().join(path);
            prop_assert_eq!(&std::fs::read(&p).unwrap(), data);
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            prop_assert_eq!(mode & 0o100 != 0, *exec);
        }
    }
}

/// An artifact of many compression blocks is one gzip stream that `gzip` and `tar` read, with
/// the files' contents intact.
#[test]
fn tar_reads_a_multi_block_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let mut packer = Packer::new(Vec::new()).unwrap();
    packer.dir("apps").unwrap();
    let mut x = 0x9E37_79B9_7F4A_7C15_u64;
    let mut expected = Vec::new();
    for i in 0..400 {
        let body: String = (0..(i * 37) % 5000 + 1)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b"0123456789abcdef\n"[(x % 17) as usize])
            })
            .collect();
        let path = format!("apps/app-{i:04}.yaml");
        packer.file(&path, false, body.as_bytes()).unwrap();
        expected.push((path, body));
    }
    let packed = packer.finish().unwrap();
    assert!(packed.writer.len() > 512 * 1024, "{}", packed.writer.len());
    let archive = dir.path().join("a.tar.gz");
    std::fs::write(&archive, &packed.writer).unwrap();
    let gzip = std::process::Command::new("gzip")
        .arg("-t")
        .arg(&archive)
        .output()
        .unwrap();
    assert!(gzip.status.success(), "{gzip:?}");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let tar = std::process::Command::new("tar")
        .arg("xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&out)
        .output()
        .unwrap();
    assert!(tar.status.success(), "{tar:?}");
    for (path, body) in expected {
        assert_eq!(
            std::fs::read_to_string(out.join(&path)).unwrap(),
            body,
            "{path}"
        );
    }
}
