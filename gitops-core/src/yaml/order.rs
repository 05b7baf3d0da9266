//! The order in which yaml.v2 writes map keys: not bytewise, but "natural" (runs of digits
//! compare as numbers, non-letters sort before letters).

use std::cmp::Ordering;

/// yaml.v2's `keyList.Less` for two string keys, as an ordering.
///
/// The comparison is not transitive for some keys mixing digit runs and punctuation
/// (`k10..`, `k1010`, `k9-a`); for such sets yaml.v2's own order depends on Go's random map
/// iteration, so `kubectl kustomize` itself is not deterministic and no order matches it
/// every time. Ordinary Kubernetes keys compare consistently and sort exactly as there.
pub(crate) fn compare(a: &str, b: &str) -> Ordering {
    if less(a, b) {
        Ordering::Less
    } else if less(b, a) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

fn less(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ar[i] == '0' || br[i] == '0' {
            // A zero after other digits is part of a number, not a leading zero.
            let mut j = i;
            while j > 0 && is_digit(ar[j - 1]) {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && is_digit(ar[ai]) {
            an = an.wrapping_mul(10).wrapping_add(digit(ar[ai]));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && is_digit(br[bi]) {
            bn = bn.wrapping_mul(10).wrapping_add(digit(br[bi]));
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

/// Go's `unicode.IsDigit`, for the ASCII keys Kubernetes objects use.
fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
}

fn digit(c: char) -> i64 {
    i64::from(c.to_digit(10).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(keys: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = keys.iter().map(|s| s.to_string()).collect();
        v.sort_by(|a, b| compare(a, b));
        v
    }

    #[test]
    fn natural_order() {
        assert_eq!(
            sorted(&["item10", "item9", "item1"]),
            ["item1", "item9", "item10"]
        );
        assert_eq!(sorted(&["b", "a", "C"]), ["C", "a", "b"]);
        assert_eq!(
            sorted(&["app_x", "appY", "app-z"]),
            ["app-z", "app_x", "appY"]
        );
        assert_eq!(
            sorted(&["metadata", "kind", "apiVersion"]),
            ["apiVersion", "kind", "metadata"]
        );
        assert_eq!(sorted(&["a", "ab", ""]), ["", "a", "ab"]);
    }
}
