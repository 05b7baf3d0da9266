//! Numbers as `kubectl kustomize` prints them.
//!
//! kustomize turns each object into JSON with Go's `encoding/json` and reads that JSON back
//! with yaml.v2 before printing: a float with an integral value prints as an integer
//! (`1.0` → `1`), other floats with Go's `strconv.FormatFloat(f, 'g', -1, 64)` (`1e+06`,
//! `1.5e-05`), which differs from Rust's `Display`.

use serde_json::Number;

/// The text yaml.v2 prints for a JSON number that went through Go's JSON encoder.
pub(crate) fn format(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    // Go's JSON encoder writes integral values below 1e21 without exponent, and yaml.v2 reads
    // them back as ints when they fit 64 bits.
    if f.fract() == 0.0 && f.abs() < 1e21 {
        if f >= i64::MIN as f64 && f < 9_223_372_036_854_775_808.0 {
            return (f as i64).to_string();
        }
        if (0.0..18_446_744_073_709_551_616.0).contains(&f) {
            return (f as u64).to_string();
        }
    }
    format_g(f)
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`.
pub(crate) fn format_g(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // Rust's `{:e}` gives the shortest digits that round-trip, as Go's `-1` precision does.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if f < 0.0 { "-" } else { "" };
    // With the shortest precision Go switches to %e below 1e-4 and from 1e6 up.
    if !(-4..6).contains(&exp) {
        // %e: d.ddde±XX
        let mut out = String::from(sign);
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&e.to_string());
        return out;
    }
    // %f
    let dp = exp + 1;
    let mut out = String::from(sign);
    if dp <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat(dp.unsigned_abs() as usize));
        out.push_str(&digits);
    } else {
        let dp = dp as usize;
        if digits.len() <= dp {
            out.push_str(&digits);
            out.push_str(&"0".repeat(dp - digits.len()));
        } else {
            out.push_str(&digits[..dp]);
            out.push('.');
            out.push_str(&digits[dp..]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: serde_json::Value) -> String {
        match v {
            serde_json::Value::Number(n) => format(&n),
            _ => unreachable!(),
        }
    }

    #[test]
    fn integral_floats_print_as_ints() {
        assert_eq!(n(serde_json::json!(1.0)), "1");
        assert_eq!(n(serde_json::json!(1e6)), "1000000");
        assert_eq!(n(serde_json::json!(-3)), "-3");
        assert_eq!(n(serde_json::json!(1e20)), "1e+20");
        assert_eq!(n(serde_json::json!(1e21)), "1e+21");
    }

    #[test]
    fn other_floats_print_as_go_does() {
        assert_eq!(format_g(1.5), "1.5");
        assert_eq!(format_g(0.0001), "0.0001");
        assert_eq!(format_g(0.00001), "1e-05");
        assert_eq!(format_g(1.5e-5), "1.5e-05");
        assert_eq!(format_g(1234567.5), "1.2345675e+06");
        assert_eq!(format_g(123456.5), "123456.5");
        assert_eq!(format_g(-0.25), "-0.25");
        assert_eq!(format_g(1e100), "1e+100");
    }
}
