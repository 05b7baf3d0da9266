//! Resource quantities (`500m`, `1Gi`, `1e3`) as far as validation compares them.

use serde_json::Value;

/// The quantity's value, `None` when it is not one.
pub(crate) fn parse(value: &Value) -> Option<f64> {
    let text = match value {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => return n.as_f64(),
        _ => return None,
    };
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exponent => {
            let digits = exponent.strip_prefix(['e', 'E'])?;
            10f64.powi(digits.parse().ok()?)
        }
    };
    Some(number * factor)
}

/// Whether the text has a quantity's syntax, as the decoder requires.
pub(crate) fn is_quantity(value: &Value) -> bool {
    match value {
        Value::Number(_) => true,
        Value::String(_) => parse(value).is_some(),
        _ => false,
    }
}

/// The quantity as the server prints it in messages (its canonical form for plain numbers).
pub(crate) fn print(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
