//! Which paths of a checkout go into the artifact: Flux's `.sourceignore` and `spec.ignore`.
//!
//! Patterns use gitignore syntax. `.sourceignore` files are read at any depth, each scoped to
//! its own directory, shallower files first; `spec.ignore` comes last and so wins. Flux's VCS
//! exclusions (`.git/`, `.gitignore`, `.gitmodules`, `.gitattributes`) always apply; its other
//! default exclusions (images, archives, CI files) apply only when no user pattern exists at
//! all: one pattern in any `.sourceignore` or in `spec.ignore` drops them.
//!
//! A path is matched on its own; when no pattern names it, it inherits the decision made for
//! its directory, so ignoring `dir/` ignores everything below it.
//!
//! ```
//! use gitops_git::ignore::Rules;
//! let rules = Rules::new(&[("deploy", b"*.tmp\n".as_slice())], Some("/docs/"));
//! assert!(rules.is_ignored("deploy/x.tmp", false));
//! assert!(!rules.is_ignored("x.tmp", false));
//! assert!(rules.is_ignored("docs", true));
//! // A user pattern exists, so Flux's default `*.png` exclusion is dropped.
//! assert!(!rules.is_ignored("logo.png", false));
//! ```

use std::path::PathBuf;

use gix::bstr::BStr;
use gix::glob::pattern::Case;
use gix::ignore::Search;
use gix::ignore::search::Ignore;

/// The name of the per-directory ignore file.
pub const SOURCEIGNORE: &str = ".sourceignore";

/// Exclusions that always apply (Flux's `VCSPatterns`).
pub const VCS_PATTERNS: &[&str] = &[".git/", ".gitignore", ".gitmodules", ".gitattributes"];

/// Exclusions that apply only when there is no user pattern (Flux's default patterns).
pub const DEFAULT_PATTERNS: &[&str] = &[
    "*.jpg",
    "*.jpeg",
    "*.gif",
    "*.png",
    "*.wmv",
    "*.flv",
    "*.tar.gz",
    "*.zip",
    ".github/",
    ".circleci/",
    ".travis.yml",
    ".gitlab-ci.yml",
    "appveyor.yml",
    ".drone.yml",
    "cloudbuild.yaml",
    "codeship-services.yml",
    "codeship-steps.yml",
    "**/.goreleaser.yml",
    "**/.sops.yaml",
    "**/.flux.yaml",
];

/// A compiled set of ignore rules for one checkout.
#[derive(Clone, Debug)]
pub struct Rules {
    search: Search,
}

fn pattern_count(bytes: &[u8]) -> usize {
    gix::ignore::parse(bytes, false).count()
}

impl Rules {
    /// Builds the rules from the `.sourceignore` files of a tree, given as (directory relative
    /// to the root, `""` for the root, contents), and `spec.ignore`.
    ///
    /// A `.sourceignore` inside a directory that the files above it already ignore is not
    /// read, as Flux does not descend into ignored directories to look for them.
    pub fn new(sourceignores: &[(&str, &[u8])], spec_ignore: Option<&str>) -> Self {
        let mut files: Vec<&(&str, &[u8])> = sourceignores.iter().collect();
        // Shallower first, then in path order, so deeper files take precedence.
        files.sort_by(|a, b| {
            let depth = |d: &str| {
                if d.is_empty() {
                    0
                } else {
                    d.split('/').count()
                }
            };
            depth(a.0).cmp(&depth(b.0)).then(a.0.cmp(b.0))
        });
        let mut rules = Rules {
            search: Search::default(),
        };
        rules.add("<flux vcs patterns>", None, &VCS_PATTERNS.join("\n"));
        let mut user_patterns = 0;
        for (dir, contents) in files {
            if !dir.is_empty() && rules.is_ignored(dir, true) {
                continue;
            }
            user_patterns += pattern_count(contents);
            let source = PathBuf::from("/").join(dir).join(SOURCEIGNORE);
            let added = rules.search.add_patterns_buffer(
                contents,
                source,
                Some(std::path::Path::new("/")),
                Ignore::default(),
            );
            if let Err(e) = added {
                tracing::warn!(directory = dir, error = %e, "skipping unreadable .sourceignore");
            }
        }
        if let Some(spec) = spec_ignore {
            user_patterns += pattern_count(spec.as_bytes());
            rules.add("<spec.ignore>", None, spec);
        }
        if user_patterns == 0 {
            rules.add(
                "<flux default patterns>",
                None,
                &DEFAULT_PATTERNS.join("\n"),
            );
        }
        rules
    }

    fn add(&mut self, source: &str, root: Option<&std::path::Path>, patterns: &str) {
        // Only a `source` without a parent can fail, and these are fixed names.
        let _ = self.search.add_patterns_buffer(
            patterns.as_bytes(),
            PathBuf::from(source),
            root,
            Ignore::default(),
        );
    }

    /// The decision of the last pattern naming `path` itself: `Some(true)` ignored,
    /// `Some(false)` re-included by a `!` pattern, `None` when no pattern names it.
    fn own_decision(&self, path: &str, is_dir: bool) -> Option<bool> {
        self.search
            .pattern_matching_relative_path(BStr::new(path), Some(is_dir), Case::Sensitive)
            .map(|m| !m.pattern.is_negative())
    }

    /// Whether `path` (relative to the root, `/`-separated) is ignored, taking the decisions
    /// for its parent directories into account.
    pub fn is_ignored(&self, path: &str, is_dir: bool) -> bool {
        let mut ignored = false;
        let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        let mut prefix = String::with_capacity(path.len());
        for (i, c) in components.iter().enumerate() {
            if i > 0 {
                prefix.push('/');
            }
            prefix.push_str(c);
            let last = i + 1 == components.len();
            if let Some(decision) = self.own_decision(&prefix, !last || is_dir) {
                ignored = decision;
            }
        }
        ignored
    }

    /// A filter over a whole listing in walk order (parents before children): same result as
    /// [`Rules::is_ignored`] per entry, computed once per directory.
    pub(crate) fn filter<'a>(
        &self,
        entries: impl IntoIterator<Item = (&'a str, bool)>,
    ) -> std::collections::BTreeSet<&'a str> {
        let mut decided: std::collections::HashMap<&'a str, bool> = Default::default();
        let mut kept = std::collections::BTreeSet::new();
        for (path, is_dir) in entries {
            let parent = path.rfind('/').map(|i| &path[..i]);
            let inherited = parent
                .and_then(|p| decided.get(p).copied())
                .unwrap_or(false);
            let ignored = self.own_decision(path, is_dir).unwrap_or(inherited);
            if is_dir {
                decided.insert(path, ignored);
            }
            if !ignored {
                kept.insert(path);
            }
        }
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_without_user_patterns() {
        let rules = Rules::new(&[], None);
        for ignored in [
            ".gitignore",
            "img/logo.png",
            ".github",
            ".github/workflows/ci.yaml",
            "a/b/.sops.yaml",
            "release.tar.gz",
        ] {
            let is_dir = ignored == ".github";
            assert!(rules.is_ignored(ignored, is_dir), "{ignored}");
        }
        assert!(!rules.is_ignored("deploy/app.yaml", false));
    }

    #[test]
    fn any_user_pattern_drops_the_defaults_but_not_vcs() {
        let rules = Rules::new(&[], Some("*.md"));
        assert!(rules.is_ignored("README.md", false));
        assert!(!rules.is_ignored("logo.png", false));
        assert!(rules.is_ignored(".gitmodules", false));
        // Comments and blank lines are not patterns.
        let rules = Rules::new(&[("", b"# nothing\n\n".as_slice())], Some(""));
        assert!(rules.is_ignored("logo.png", false));
    }

    #[test]
    fn sourceignore_is_scoped_to_its_directory() {
        let rules = Rules::new(
            &[
                ("apps", b"/secret.yaml\n*.bak\n".as_slice()),
                ("", b"tmp/\n"),
            ],
            None,
        );
        assert!(rules.is_ignored("apps/secret.yaml", false));
        assert!(!rules.is_ignored("secret.yaml", false));
        assert!(!rules.is_ignored("apps/sub/secret.yaml", false));
        assert!(rules.is_ignored("apps/sub/x.bak", false));
        assert!(!rules.is_ignored("x.bak", false));
        assert!(rules.is_ignored("tmp/file", false));
        assert!(rules.is_ignored("apps/tmp/file", false));
    }

    #[test]
    fn spec_ignore_wins_and_can_reinclude() {
        let rules = Rules::new(&[("", b"*.yaml\n".as_slice())], Some("!keep.yaml"));
        assert!(rules.is_ignored("drop.yaml", false));
        assert!(!rules.is_ignored("keep.yaml", false));
    }

    #[test]
    fn sourceignore_in_ignored_directory_is_not_read() {
        let rules = Rules::new(&[("", b"vendor/\n".as_slice()), ("vendor", b"!*\n")], None);
        assert!(rules.is_ignored("vendor/a.yaml", false));
    }

    #[test]
    fn filter_matches_is_ignored() {
        let rules = Rules::new(&[], Some("/build/\n!/build/keep.yaml\n*.log"));
        let entries = [
            ("a.log", false),
            ("build", true),
            ("build/keep.yaml", false),
            ("build/out.bin", false),
            ("src", true),
            ("src/main.yaml", false),
        ];
        let kept = rules.filter(entries.iter().copied());
        for (path, is_dir) in entries {
            assert_eq!(
                kept.contains(path),
                !rules.is_ignored(path, is_dir),
                "{path}"
            );
        }
        assert!(kept.contains("build/keep.yaml"));
        assert!(!kept.contains("build/out.bin"));
    }
}
