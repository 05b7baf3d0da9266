//! Semver ranges over tags, with the semantics Flux uses (Masterminds semver v3).
//!
//! The Cargo flavour of the `semver` crate differs from what Flux users write: here `,` and
//! spaces both mean AND, `||` means OR, `1.2 - 1.4` is an inclusive range, versions may carry
//! a `v` prefix and may be partial (`1.2` is `1.2.x`), `x`, `X` and `*` are wildcards, `!=`
//! exists, and prereleases only match when the AND group that is checked names one.
//!
//! ```
//! use gitops_core::constraint::{Constraint, parse_version};
//! let range: Constraint = ">=1.0.0 <2.0.0 || ~3.1".parse().unwrap();
//! assert!(range.matches(&parse_version("v1.4.2").unwrap()));
//! assert!(range.matches(&parse_version("3.1.9").unwrap()));
//! assert!(!range.matches(&parse_version("2.0.0").unwrap()));
//! assert!(!range.matches(&parse_version("1.5.0-rc.1").unwrap()));
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use semver::{BuildMetadata, Prerelease, Version};

/// A parsed semver range: groups of AND-ed comparisons, OR-ed together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Constraint {
    source: String,
    groups: Vec<Group>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Group {
    parts: Vec<Part>,
    /// Whether any comparison names a prerelease, which lets prereleases match this group.
    has_prerelease: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// No operator or `=`: equality, or a tilde range when the version has wildcards.
    TildeOrEqual,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Part {
    op: Op,
    version: Version,
    /// Some part of the version was a wildcard or missing.
    dirty: bool,
    /// The minor part (and so the patch) was a wildcard or missing.
    minor_dirty: bool,
    /// The patch part was a wildcard or missing.
    patch_dirty: bool,
}

impl Constraint {
    /// Whether `version` satisfies the range.
    pub fn matches(&self, version: &Version) -> bool {
        self.groups.iter().any(|g| {
            let allow_pre = g.has_prerelease;
            if !version.pre.is_empty() && !allow_pre {
                return false;
            }
            g.parts.iter().all(|p| p.matches(version))
        })
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl FromStr for Constraint {
    type Err = String;

    /// Parses a range; the error says what is wrong with it.
    fn from_str(s: &str) -> Result<Self, String> {
        let groups = s.split("||").map(parse_group).collect::<Result<_, _>>()?;
        Ok(Self {
            source: s.to_string(),
            groups,
        })
    }
}

fn compare(a: &Version, b: &Version) -> Ordering {
    // Build metadata does not take part in precedence.
    (a.major, a.minor, a.patch, &a.pre).cmp(&(b.major, b.minor, b.patch, &b.pre))
}

impl Part {
    fn matches(&self, v: &Version) -> bool {
        let c = &self.version;
        match self.op {
            Op::TildeOrEqual if self.dirty => self.tilde(v),
            Op::TildeOrEqual => compare(v, c).is_eq(),
            Op::Tilde => self.tilde(v),
            Op::NotEqual => {
                if self.dirty {
                    if c.major != v.major {
                        return true;
                    }
                    if self.minor_dirty {
                        return false;
                    }
                    if c.minor != v.minor {
                        return true;
                    }
                    if self.patch_dirty {
                        return (!v.pre.is_empty() || !c.pre.is_empty()) && v.pre != c.pre;
                    }
                    if c.patch != v.patch {
                        return true;
                    }
                }
                !compare(v, c).is_eq()
            }
            Op::Greater => {
                if !self.dirty {
                    return compare(v, c).is_gt();
                }
                match v.major.cmp(&c.major) {
                    Ordering::Greater => true,
                    Ordering::Less => false,
                    Ordering::Equal if self.minor_dirty => false,
                    Ordering::Equal if self.patch_dirty => v.minor > c.minor,
                    Ordering::Equal => compare(v, c).is_gt(),
                }
            }
            Op::Less => compare(v, c).is_lt(),
            Op::GreaterEqual => compare(v, c).is_ge(),
            Op::LessEqual => {
                if !self.dirty {
                    return compare(v, c).is_le();
                }
                if v.major > c.major {
                    return false;
                }
                !(v.major == c.major && v.minor > c.minor && !self.minor_dirty)
            }
            Op::Caret => {
                if compare(v, c).is_lt() {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                v.patch == c.patch
            }
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.version;
        if compare(v, c).is_lt() {
            return false;
        }
        // `~0.0.0` (and `*`) accept everything.
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }
}

const OPERATORS: [(&str, Op); 12] = [
    ("!=", Op::NotEqual),
    (">=", Op::GreaterEqual),
    ("=>", Op::GreaterEqual),
    ("<=", Op::LessEqual),
    ("=<", Op::LessEqual),
    ("~>", Op::Tilde),
    (">", Op::Greater),
    ("<", Op::Less),
    ("=", Op::TildeOrEqual),
    ("~", Op::Tilde),
    ("^", Op::Caret),
    ("", Op::TildeOrEqual),
];

fn split_operator(token: &str) -> (Op, &str) {
    for (text, op) in OPERATORS {
        if let Some(rest) = token.strip_prefix(text) {
            return (op, rest);
        }
    }
    (Op::TildeOrEqual, token)
}

fn is_operator_only(token: &str) -> bool {
    !token.is_empty() && token.chars().all(|c| "!=<>~^".contains(c))
}

fn parse_group(group: &str) -> Result<Group, String> {
    let raw: Vec<&str> = group
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .collect();
    if raw.is_empty() {
        // An empty range (or an empty side of `||`) matches any release, as in Masterminds.
        return Ok(Group {
            parts: vec![Part {
                op: Op::TildeOrEqual,
                version: Version::new(0, 0, 0),
                dirty: true,
                minor_dirty: false,
                patch_dirty: false,
            }],
            has_prerelease: false,
        });
    }
    // Join operators written apart from their version (`>= 1.0`), then rewrite hyphen
    // ranges (`1.0 - 2.0`) into `>=1.0 <=2.0`.
    let mut tokens: Vec<String> = Vec::new();
    let mut iter = raw.into_iter().peekable();
    while let Some(t) = iter.next() {
        if is_operator_only(t) {
            let Some(next) = iter.next() else {
                return Err(format!("operator '{t}' has no version after it"));
            };
            tokens.push(format!("{t}{next}"));
        } else {
            tokens.push(t.to_string());
        }
    }
    let mut parts = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens.get(i + 1).is_some_and(|t| t == "-") {
            let (Some(low), Some(high)) = (tokens.get(i), tokens.get(i + 2)) else {
                return Err("a hyphen range needs a version on both sides".into());
            };
            parts.push(parse_part(&format!(">={low}"))?);
            parts.push(parse_part(&format!("<={high}"))?);
            i += 3;
        } else {
            parts.push(parse_part(&tokens[i])?);
            i += 1;
        }
    }
    let has_prerelease = parts.iter().any(|p| !p.version.pre.is_empty());
    Ok(Group {
        parts,
        has_prerelease,
    })
}

fn parse_part(token: &str) -> Result<Part, String> {
    let (op, rest) = split_operator(token);
    let lax =
        parse_lax(rest, true).ok_or_else(|| format!("'{token}' is not a valid comparison"))?;
    let [major, minor, patch] = lax.numbers;
    let (version_numbers, dirty, minor_dirty, patch_dirty) = match (major, minor, patch) {
        (None, _, _) => ((0, 0, 0), true, false, false),
        (Some(ma), None, _) => ((ma, 0, 0), true, true, false),
        (Some(ma), Some(mi), None) => ((ma, mi, 0), true, false, true),
        (Some(ma), Some(mi), Some(pa)) => ((ma, mi, pa), false, false, false),
    };
    let mut version = Version::new(version_numbers.0, version_numbers.1, version_numbers.2);
    version.pre = lax.pre;
    version.build = lax.build;
    Ok(Part {
        op,
        version,
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

struct Lax {
    /// Major, minor, patch; `None` for a missing part or a wildcard.
    numbers: [Option<u64>; 3],
    pre: Prerelease,
    build: BuildMetadata,
}

fn parse_lax(s: &str, wildcards: bool) -> Option<Lax> {
    let s = s.strip_prefix('v').unwrap_or(s);
    let (s, build) = match s.split_once('+') {
        Some((_, "")) => return None,
        Some((v, b)) => (v, BuildMetadata::new(b).ok()?),
        None => (s, BuildMetadata::EMPTY),
    };
    let (s, pre) = match s.split_once('-') {
        Some((_, "")) => return None,
        Some((v, p)) => (v, Prerelease::new(p).ok()?),
        None => (s, Prerelease::EMPTY),
    };
    let mut numbers = [None; 3];
    let mut count = 0;
    let mut wild = false;
    for (i, part) in s.split('.').enumerate() {
        if i >= 3 {
            return None;
        }
        count += 1;
        if matches!(part, "x" | "X" | "*") && wildcards {
            wild = true;
            continue;
        }
        if wild || part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        numbers[i] = Some(part.parse().ok()?);
    }
    if count == 0 {
        return None;
    }
    Some(Lax {
        numbers,
        pre,
        build,
    })
}

/// Parses a tag as a version the way Flux does: an optional `v` prefix, one to three numeric
/// parts (missing ones are 0), then an optional prerelease and build. `None` when the tag is
/// not a version.
pub fn parse_version(tag: &str) -> Option<Version> {
    let lax = parse_lax(tag, false)?;
    let [major, minor, patch] = lax.numbers;
    let mut v = Version::new(major?, minor.unwrap_or(0), patch.unwrap_or(0));
    v.pre = lax.pre;
    v.build = lax.build;
    Some(v)
}

/// The highest version among `tags` that satisfies `range`, with its tag name. Tags that are
/// not versions are skipped; between tags of equal precedence the later name wins, so the
/// choice is deterministic.
pub fn highest<'a>(
    range: &Constraint,
    tags: impl IntoIterator<Item = &'a str>,
) -> Option<(&'a str, Version)> {
    tags.into_iter()
        .filter_map(|t| parse_version(t).map(|v| (t, v)))
        .filter(|(_, v)| range.matches(v))
        .max_by(|(ta, a), (tb, b)| compare(a, b).then_with(|| ta.cmp(tb)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(range: &str, version: &str) -> bool {
        let c: Constraint = range.parse().unwrap_or_else(|e| panic!("{range}: {e}"));
        c.matches(&parse_version(version).unwrap_or_else(|| panic!("{version}")))
    }

    #[test]
    fn masterminds_table() {
        // (range, version, expected), cases in the spirit of Masterminds' constraint tests.
        let cases = [
            ("=2.0.0", "1.2.3", false),
            ("=2.0.0", "2.0.0", true),
            ("=2.0", "1.2.3", false),
            ("=2.0", "2.0.0", true),
            ("=2.0", "2.0.1", true),
            ("4.1", "4.1.0", true),
            ("4.1.x", "4.1.3", true),
            ("1.x", "1.4.0", true),
            ("2", "1.0.0", false),
            ("2", "2.9.9", true),
            ("!=4.1", "4.1.0", false),
            ("!=4.1", "5.1.0", true),
            ("!=4.x", "5.1.0", true),
            ("!=4.x", "4.1.0", false),
            ("!=4.1.x", "4.2.0", true),
            ("!=4.2.x", "4.2.3", false),
            (">1.1", "4.1.0", true),
            (">1.1", "1.1.0", false),
            (">1.1", "1.1.1", false),
            (">11", "11.1.0", false),
            (">11.1", "11.1.1", false),
            (">11.1", "11.2.1", true),
            ("<1.1", "0.1.0", true),
            ("<1.1", "1.1.0", false),
            ("<1.1", "1.1.1", false),
            ("<=1.1", "1.1.1", true),
            ("<=1.1", "1.2.0", false),
            ("<1.x", "1.1.1", false),
            ("<=1.x", "1.9.9", true),
            (">=1.1", "1.1.0", true),
            (">= 1.1", "4.1.0", true),
            ("=>1.1", "0.0.9", false),
            ("~1.2.3", "1.2.4", true),
            ("~1.2.3", "1.3.0", false),
            ("~1.2", "1.2.9", true),
            ("~1", "1.9.9", true),
            ("~1", "2.0.0", false),
            ("~>1.2", "1.2.0", true),
            ("~0.0.0", "1.2.3", true),
            ("^1.2.3", "1.8.0", true),
            ("^1.2.3", "2.0.0", false),
            ("^1.2.3", "1.2.2", false),
            ("^0.2.3", "0.2.9", true),
            ("^0.2.3", "0.3.0", false),
            ("^0.0.3", "0.0.3", true),
            ("^0.0.3", "0.0.4", false),
            ("^0.0", "0.0.9", true),
            ("^0.0", "0.1.0", false),
            ("^0", "0.9.0", true),
            ("^0", "1.0.0", false),
            ("^1.x", "1.9.0", true),
            ("*", "1.2.3", true),
            ("x", "0.0.1", true),
            ("", "4.5.6", true),
            (">=1.0.0 <2.0.0", "1.9.0", true),
            (">=1.0.0 <2.0.0", "2.0.0", false),
            (">=1.0.0, <2.0.0", "1.0.0", true),
            (">= 1.0.0 , < 2.0.0", "1.5.0", true),
            ("1.2 - 1.4.5", "1.4.5", true),
            ("1.2 - 1.4.5", "1.4.6", false),
            ("1.2 - 1.4.5", "1.1.9", false),
            ("<1.0.0 || >=2.0.0", "0.5.0", true),
            ("<1.0.0 || >=2.0.0", "1.5.0", false),
            ("<1.0.0 || >=2.0.0", "2.5.0", true),
            ("v1.2.3", "1.2.3", true),
            (">=v1.0", "v1.5", true),
            // Prereleases only when the group names one.
            (">=1.0.0", "1.1.0-beta.1", false),
            (">=1.0.0-0", "1.1.0-beta.1", true),
            (">=1.1.0-alpha", "1.1.0-beta", true),
            (">1.1.0-beta", "1.1.0-alpha", false),
            ("^1.0.0-0", "1.0.0-rc.1", true),
            ("<2.0.0 || >=3.0.0-rc.1", "3.0.0-rc.2", true),
            // Build metadata does not count.
            ("=1.2.3", "1.2.3+build.5", true),
        ];
        for (range, version, expected) in cases {
            assert_eq!(check(range, version), expected, "'{range}' vs '{version}'");
        }
    }

    #[test]
    fn rejects_invalid_ranges() {
        for bad in [
            ">=", "1.2.3.4", "abc", ">=1.0 <", "~>x.1", "1.0.0-", "=> - 2",
        ] {
            assert!(bad.parse::<Constraint>().is_err(), "{bad}");
        }
    }

    #[test]
    fn lax_versions() {
        assert_eq!(parse_version("v1"), Some(Version::new(1, 0, 0)));
        assert_eq!(parse_version("1.2"), Some(Version::new(1, 2, 0)));
        assert_eq!(
            parse_version("v1.2.3").map(|v| v.to_string()),
            Some("1.2.3".into())
        );
        assert!(parse_version("release-1").is_none());
        assert!(parse_version("1.x").is_none());
        assert!(parse_version("latest").is_none());
    }

    #[test]
    fn highest_picks_the_greatest_match() {
        let range: Constraint = ">=1.0.0 <2.0.0".parse().unwrap();
        let tags = [
            "v0.9.0",
            "v1.0.0",
            "v1.10.0",
            "v1.9.0",
            "v2.0.0",
            "v1.11.0-rc.1",
            "junk",
        ];
        let (tag, v) = highest(&range, tags).unwrap();
        assert_eq!((tag, v.to_string().as_str()), ("v1.10.0", "1.10.0"));
        let none: Constraint = ">=5".parse().unwrap();
        assert!(highest(&none, tags).is_none());
    }
}
