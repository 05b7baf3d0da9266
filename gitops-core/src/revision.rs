//! Source revisions (`main@sha1:<hex>`) and artifact digests (`sha256:<hex>`), in Flux's
//! formats.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// A content digest, `<algorithm>:<hex>`: a Git commit id (`sha1:…`, `sha256:…`) or an
/// artifact's checksum (`sha256:…`).
///
/// ```
/// use gitops_core::Digest;
/// let d: Digest = "sha256:8b3f2ea2c1fbc6aa3a27ba4f9e4e9c5d0a57e0c2e5ae4ddb9f7bbd6e1f9b7a0c".parse().unwrap();
/// assert_eq!(d.algorithm(), "sha256");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest {
    algorithm: String,
    hex: String,
}

impl Digest {
    /// A digest from an algorithm name and its lowercase hex encoding.
    pub fn new(algorithm: &str, hex: &str) -> Result<Self, Error> {
        let input = format!("{algorithm}:{hex}");
        let invalid = |reason: &str| Error::InvalidDigest {
            input: input.clone(),
            reason: reason.into(),
        };
        let expected_len = match algorithm {
            "sha1" => 40,
            "sha256" | "blake3" => 64,
            "sha384" => 96,
            "sha512" => 128,
            "" => return Err(invalid("the algorithm is missing")),
            _ => {
                return Err(invalid(
                    "unknown algorithm, expected sha1, sha256, sha384, sha512 or blake3",
                ));
            }
        };
        if hex.len() != expected_len {
            return Err(invalid(&format!(
                "{algorithm} needs {expected_len} hex digits, found {}",
                hex.len()
            )));
        }
        if !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(invalid("the digest must be lowercase hex"));
        }
        Ok(Self {
            algorithm: algorithm.into(),
            hex: hex.into(),
        })
    }

    /// The SHA-256 digest of some bytes.
    pub fn sha256(bytes: &[u8]) -> Self {
        use sha2::Digest as _;
        let sum = sha2::Sha256::digest(bytes);
        let hex = sum.iter().map(|b| format!("{b:02x}")).collect();
        Self {
            algorithm: "sha256".into(),
            hex,
        }
    }

    /// The algorithm name, e.g. `sha1`.
    pub fn algorithm(&self) -> &str {
        &self.algorithm
    }

    /// The lowercase hex encoding.
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

impl FromStr for Digest {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let Some((algorithm, hex)) = s.split_once(':') else {
            return Err(Error::InvalidDigest {
                input: s.into(),
                reason: "expected <algorithm>:<hex>, e.g. sha256:<64 hex digits>".into(),
            });
        };
        Self::new(algorithm, hex)
    }
}

impl TryFrom<String> for Digest {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.to_string()
    }
}

/// A source revision: the reference that was checked out (when there was one) and the commit,
/// printed as Flux prints it: `main@sha1:<hex>`, `v1.2.0@sha1:<hex>`,
/// `refs/pull/1/head@sha1:<hex>`, or `sha1:<hex>` for a bare commit.
///
/// Parsing also accepts Flux's legacy forms, `main/<hex>` and `HEAD/<hex>`, and a bare hex
/// commit id, so that revisions in old statuses compare equal to new ones.
///
/// ```
/// use gitops_core::Revision;
/// let hex = "132f4e719209eb10b9485302f8593fc0e680f4fc";
/// let new: Revision = format!("main@sha1:{hex}").parse().unwrap();
/// let legacy: Revision = format!("main/{hex}").parse().unwrap();
/// assert_eq!(new, legacy);
/// assert_eq!(legacy.to_string(), format!("main@sha1:{hex}"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Revision {
    reference: Option<String>,
    commit: Digest,
}

impl Revision {
    /// A revision of `commit` checked out through `reference` (a short branch or tag name, or a
    /// full ref name for `spec.ref.name`), or of the bare commit when `reference` is `None`.
    pub fn new(reference: Option<&str>, commit: Digest) -> Result<Self, Error> {
        if let Some(r) = reference {
            check_reference(r, &format!("{r}@{commit}"))?;
        }
        Ok(Self {
            reference: reference.map(str::to_owned),
            commit,
        })
    }

    /// The reference as Flux shows it: `refs/heads/main` → `main`, `refs/tags/v1` → `v1`,
    /// other full names kept whole (`refs/pull/1/head`).
    pub fn short_reference(full: &str) -> &str {
        full.strip_prefix("refs/heads/")
            .or_else(|| full.strip_prefix("refs/tags/"))
            .unwrap_or(full)
    }

    /// The reference part, if any.
    pub fn reference(&self) -> Option<&str> {
        self.reference.as_deref()
    }

    /// The commit.
    pub fn commit(&self) -> &Digest {
        &self.commit
    }
}

fn check_reference(r: &str, input: &str) -> Result<(), Error> {
    let invalid = |reason: &str| Error::InvalidRevision {
        input: input.into(),
        reason: reason.into(),
    };
    if r.is_empty() {
        return Err(invalid("the reference before '@' is empty"));
    }
    if r.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("the reference contains whitespace"));
    }
    Ok(())
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reference {
            Some(r) => write!(f, "{r}@{}", self.commit),
            None => self.commit.fmt(f),
        }
    }
}

impl FromStr for Revision {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidRevision {
            input: s.into(),
            reason,
        };
        if s.is_empty() {
            return Err(invalid("the revision is empty".into()));
        }
        if s.contains(':') {
            let (reference, digest) = match s.rsplit_once('@') {
                Some((r, d)) => (Some(r), d),
                None => (None, s),
            };
            let commit = digest.parse::<Digest>().map_err(|e| match e {
                Error::InvalidDigest { reason, .. } => invalid(reason),
                other => other,
            })?;
            return Self::new(reference, commit);
        }
        // Legacy forms (Flux < 2.0): `<ref>/<hex>`, `HEAD/<hex>`, or a bare hex id.
        let (reference, hex) = match s.rsplit_once('/') {
            Some((r, h)) => (Some(r), h),
            None => (None, s),
        };
        let algorithm = match hex.len() {
            40 => "sha1",
            64 => "sha256",
            _ => {
                return Err(invalid(
                    "expected <ref>@sha1:<40 hex>, sha1:<40 hex> or the legacy <ref>/<40 hex>"
                        .into(),
                ));
            }
        };
        let commit = Digest::new(algorithm, hex).map_err(|e| match e {
            Error::InvalidDigest { reason, .. } => invalid(reason),
            other => other,
        })?;
        let reference = reference.filter(|r| *r != "HEAD");
        Self::new(reference, commit)
    }
}

impl TryFrom<String> for Revision {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<Revision> for String {
    fn from(r: Revision) -> String {
        r.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HEX: &str = "132f4e719209eb10b9485302f8593fc0e680f4fc";

    #[test]
    fn prints_flux_forms() {
        for s in [
            format!("main@sha1:{HEX}"),
            format!("v1.2.0@sha1:{HEX}"),
            format!("refs/pull/1/head@sha1:{HEX}"),
            format!("feature/x@sha1:{HEX}"),
            format!("sha1:{HEX}"),
        ] {
            let r: Revision = s.parse().unwrap();
            assert_eq!(r.to_string(), s);
        }
    }

    #[test]
    fn parses_legacy_forms() {
        let r: Revision = format!("main/{HEX}").parse().unwrap();
        assert_eq!(r.to_string(), format!("main@sha1:{HEX}"));
        let r: Revision = format!("HEAD/{HEX}").parse().unwrap();
        assert_eq!(r.to_string(), format!("sha1:{HEX}"));
        let r: Revision = format!("feature/x/{HEX}").parse().unwrap();
        assert_eq!(r.reference(), Some("feature/x"));
        let r: Revision = HEX.parse().unwrap();
        assert_eq!(r.to_string(), format!("sha1:{HEX}"));
    }

    #[test]
    fn rejects_invalid_revisions_with_the_input() {
        for bad in [
            "",
            "main",
            "main@sha1:xyz",
            "main@md5:abcd",
            "@sha1:132f4e719209eb10b9485302f8593fc0e680f4fc",
            "main/1234",
            "main@sha1:132F4E719209EB10B9485302F8593FC0E680F4FC",
        ] {
            let err = bad.parse::<Revision>().unwrap_err();
            assert!(
                matches!(err, Error::InvalidRevision { .. }),
                "{bad}: {err:?}"
            );
            assert!(err.to_string().contains(&format!("'{bad}'")), "{err}");
        }
    }

    #[test]
    fn short_reference_strips_heads_and_tags() {
        assert_eq!(Revision::short_reference("refs/heads/main"), "main");
        assert_eq!(Revision::short_reference("refs/tags/v1.0.0"), "v1.0.0");
        assert_eq!(
            Revision::short_reference("refs/pull/1/head"),
            "refs/pull/1/head"
        );
    }

    #[test]
    fn digest_of_bytes() {
        let d = Digest::sha256(b"");
        assert_eq!(
            d.to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(d.to_string().parse::<Digest>().unwrap(), d);
        assert!("sha256:abc".parse::<Digest>().is_err());
        assert!("abc".parse::<Digest>().is_err());
    }

    fn reference() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(prop_oneof![
            "[a-z][a-z0-9._-]{0,20}",
            "[a-z]{1,8}/[a-z0-9-]{1,12}",
            "refs/pull/[0-9]{1,4}/head",
            "v[0-9]\\.[0-9]{1,2}\\.[0-9]{1,2}",
        ])
    }

    proptest! {
        #[test]
        fn revision_round_trips(r in reference(), hex in "[0-9a-f]{40}") {
            let rev = Revision::new(r.as_deref(), Digest::new("sha1", &hex).unwrap()).unwrap();
            let printed = rev.to_string();
            let parsed: Revision = printed.parse().unwrap();
            prop_assert_eq!(&parsed, &rev);
            prop_assert_eq!(parsed.to_string(), printed);
        }

        #[test]
        fn legacy_revision_normalises(r in "[a-z][a-z0-9-]{0,12}", hex in "[0-9a-f]{40}") {
            let parsed: Revision = format!("{r}/{hex}").parse().unwrap();
            let expected = if r == "HEAD" { format!("sha1:{hex}") } else { format!("{r}@sha1:{hex}") };
            prop_assert_eq!(parsed.to_string(), expected);
        }

        #[test]
        fn digest_round_trips(hex in "[0-9a-f]{64}") {
            let d: Digest = format!("sha256:{hex}").parse().unwrap();
            prop_assert_eq!(d.to_string(), format!("sha256:{hex}"));
        }
    }
}
