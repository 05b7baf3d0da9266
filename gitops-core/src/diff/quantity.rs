//! Kubernetes resource quantities compared by value.
//!
//! The API server rewrites a quantity into its canonical form (`0.5` becomes `500m`, `1000m`
//! becomes `1`), so comparing the text of a manifest's `cpu: 0.5` with the live `500m` would
//! report drift that no apply can fix.

use serde_json::Value;

/// The most significant digits kept; more cannot be compared exactly in an `i128` once a
/// binary suffix has multiplied them.
const MAX_DIGITS: usize = 30;

/// Whether two quantity values (strings or plain numbers) denote the same amount. Values that
/// do not parse as quantities are equal only when they are identical.
pub(super) fn equal(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (text(a), text(b)) {
        (Some(a), Some(b)) => {
            a == b || matches!((parse(&a), parse(&b)), (Some(x), Some(y)) if x == y)
        }
        _ => false,
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A quantity as `mantissa * 10^exponent` with no trailing zeros in the mantissa, so that
/// equal amounts have equal representations.
fn parse(input: &str) -> Option<(i128, i32)> {
    let split = input
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '+' | '-')))
        .unwrap_or(input.len());
    let (number, suffix) = input.split_at(split);
    let (negative, number) = match number.as_bytes().first() {
        Some(b'-') => (true, &number[1..]),
        Some(b'+') => (false, &number[1..]),
        _ => (false, number),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = format!("{whole}{fraction}");
    if digits.is_empty() || digits.len() > MAX_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut mantissa: i128 = digits.parse().ok()?;
    let mut exponent = -i32::try_from(fraction.len()).ok()?;
    let (decimal, binary) = suffix_scale(suffix)?;
    exponent = exponent.checked_add(decimal)?;
    for _ in 0..binary {
        mantissa = mantissa.checked_mul(1024)?;
    }
    if mantissa == 0 {
        return Some((0, 0));
    }
    while mantissa % 10 == 0 {
        mantissa /= 10;
        exponent = exponent.checked_add(1)?;
    }
    Some((if negative { -mantissa } else { mantissa }, exponent))
}

/// A suffix as a power of ten and a power of 1024.
fn suffix_scale(suffix: &str) -> Option<(i32, u32)> {
    let scale = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 1),
        "Mi" => (0, 2),
        "Gi" => (0, 3),
        "Ti" => (0, 4),
        "Pi" => (0, 5),
        "Ei" => (0, 6),
        _ => {
            let exponent = suffix.strip_prefix(['e', 'E'])?;
            (exponent.parse().ok().filter(|e: &i32| e.abs() < 1000)?, 0)
        }
    };
    Some(scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_forms_are_equal() {
        for (a, b) in [
            (json!("0.5"), json!("500m")),
            (json!("1000m"), json!("1")),
            (json!(1), json!("1")),
            (json!(0.25), json!("250m")),
            (json!("1Gi"), json!("1073741824")),
            (json!("1024Mi"), json!("1Gi")),
            (json!("1k"), json!("1000")),
            (json!("1e3"), json!("1k")),
            (json!("1E"), json!("1e18")),
            (json!("0"), json!("0m")),
            (json!("+1.50"), json!("1500m")),
        ] {
            assert!(equal(&a, &b), "{a} vs {b}");
        }
    }

    #[test]
    fn different_amounts_and_non_quantities_differ() {
        assert!(!equal(&json!("500m"), &json!("1")));
        assert!(!equal(&json!("1Gi"), &json!("1G")));
        assert!(!equal(&json!("-1"), &json!("1")));
        assert!(!equal(&json!("128974848"), &json!("129e6")));
        assert!(!equal(&json!("lots"), &json!("many")));
        assert!(equal(&json!("lots"), &json!("lots")));
        assert!(equal(&json!(true), &json!(true)));
        assert!(!equal(&json!(true), &json!("1")));
        assert_eq!(parse("1.2.3"), None);
        assert_eq!(parse("1Xi"), None);
        assert_eq!(parse(""), None);
    }
}
