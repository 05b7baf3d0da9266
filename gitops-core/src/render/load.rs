//! Which files a kustomization may read: kustomize's load restrictions.

use super::build::display;
use crate::fs::{self, FileSystem};
use crate::schema::Schema;

/// Where the files a kustomization names (patches, generator sources, replacement sources,
/// resource files...) may be, as kustomize's `--load-restrictor` sets it. Kustomization
/// directories named in `resources`, `components` or `bases` may be anywhere in the file
/// system under either.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadRestrictions {
    /// kustomize's default (`LoadRestrictionsRootOnly`, what `kubectl kustomize` does): in
    /// or below the directory of the kustomization that names them.
    #[default]
    RootOnly,
    /// Anywhere in the file system (`LoadRestrictionsNone`, what Flux's
    /// kustomize-controller builds with, its file system being the artifact).
    None,
}

/// What a kustomization's generators and transformers read: a file system under load
/// restrictions, and the OpenAPI schema strategic merges take their merge keys from.
#[derive(Clone, Copy)]
pub(crate) struct Files<'a> {
    pub fs: &'a dyn FileSystem,
    pub restrictions: LoadRestrictions,
    pub schema: &'a Schema,
}

impl Files<'_> {
    /// The path of the file that the kustomization in `dir` names as `entry`, or why it may
    /// not be read (to follow "field 'x' ").
    pub(crate) fn file(&self, dir: &str, entry: &str) -> Result<String, String> {
        let full =
            fs::join(dir, entry).map_err(|_| format!("'{entry}' leaves the root directory"))?;
        // kustomize compares the paths with symbolic links resolved.
        let real = |p: &str| self.fs.real_path(p).unwrap_or_else(|| p.to_string());
        if self.restrictions == LoadRestrictions::RootOnly
            && (!within(dir, &full) || !within(&real(dir), &real(&full)))
        {
            return Err(format!(
                "'{entry}' is not in or below the kustomization's directory '{}', which kustomize's default load restrictions require of files",
                display(dir)
            ));
        }
        Ok(full)
    }

    /// Reads the file that the kustomization in `dir` names as `entry`; `what` names it in
    /// the errors (e.g. "patch file"), which follow "field 'x' ".
    pub(crate) fn read(
        &self,
        dir: &str,
        entry: &str,
        what: &str,
    ) -> Result<(String, Vec<u8>), String> {
        let full = self.file(dir, entry).map_err(|r| format!("{what} {r}"))?;
        let bytes = self
            .fs
            .read(&full)
            .map_err(|_| format!("{what} '{entry}' not found"))?;
        Ok((full, bytes))
    }

    /// [`Files::read`] as UTF-8 text.
    pub(crate) fn read_text(
        &self,
        dir: &str,
        entry: &str,
        what: &str,
    ) -> Result<(String, String), String> {
        let (full, bytes) = self.read(dir, entry, what)?;
        let text =
            String::from_utf8(bytes).map_err(|_| format!("{what} '{entry}' is not valid UTF-8"))?;
        Ok((full, text))
    }
}

/// Whether the normalised `path` is `dir` or below it.
fn within(dir: &str, path: &str) -> bool {
    dir.is_empty()
        || path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}
