//! The YAML 1.1 resolution rules of Go's `gopkg.in/yaml.v2`, which decide whether a string
//! can be written as a plain scalar or must be quoted because a reader would take it for a
//! boolean, null, number or timestamp.

use std::sync::OnceLock;

use regex::Regex;

/// Whether yaml.v2 writes `s` as a plain scalar: it resolves to a string when read back
/// unquoted and is not a base 60 float (quoted for older YAML 1.1 readers).
pub(crate) fn plain_is_string(s: &str) -> bool {
    resolves_to_string(s) && !is_base60_float(s)
}

/// yaml.v2 `resolve("", s)` returning `!!str`.
fn resolves_to_string(s: &str) -> bool {
    let Some(&first) = s.as_bytes().first() else {
        // The empty string is null.
        return false;
    };
    match first {
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => {
            !in_resolve_map(s)
        }
        b'.' => !in_resolve_map(s) && !is_decimal_float(s),
        b'+' | b'-' | b'0'..=b'9' => {
            if in_resolve_map(s) {
                return false;
            }
            !(is_timestamp(s) || is_number(&s.replace('_', "")))
        }
        // `<<` is in yaml.v2's map, but its first byte has no hint, so it is never looked up.
        _ => true,
    }
}

fn in_resolve_map(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "true"
            | "True"
            | "TRUE"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "false"
            | "False"
            | "FALSE"
            | "off"
            | "Off"
            | "OFF"
            | "~"
            | "null"
            | "Null"
            | "NULL"
            | ".nan"
            | ".NaN"
            | ".NAN"
            | ".inf"
            | ".Inf"
            | ".INF"
            | "+.inf"
            | "+.Inf"
            | "+.INF"
            | "-.inf"
            | "-.Inf"
            | "-.INF"
    )
}

/// Go's `strconv.ParseFloat` on a string starting with `.`: only decimal forms can.
fn is_decimal_float(s: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^\.[0-9]+([eE][-+]?[0-9]+)?$").ok())
        .as_ref()
        .is_some_and(|re| re.is_match(s))
        && s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// An int (Go `ParseInt`/`ParseUint` with base 0, or yaml.v2's `0b` forms) or a YAML-style
/// float, after underscores were removed.
fn is_number(plain: &str) -> bool {
    parse_go_int(plain) || is_yaml_float(plain) || is_binary(plain)
}

fn is_yaml_float(plain: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$").ok())
        .as_ref()
        .is_some_and(|re| re.is_match(plain))
        // Go reports a range error (and yaml.v2 falls through to a string) on overflow.
        && plain.parse::<f64>().is_ok_and(f64::is_finite)
}

fn is_binary(plain: &str) -> bool {
    let digits = plain
        .strip_prefix("0b")
        .or_else(|| plain.strip_prefix("-0b"));
    digits.is_some_and(|d| {
        !d.is_empty() && d.len() <= 64 && d.bytes().all(|b| b == b'0' || b == b'1')
    })
}

/// Go `strconv.ParseInt(s, 0, 64)` succeeding, or `ParseUint(s, 0, 64)`.
fn parse_go_int(s: &str) -> bool {
    let (negative, signed, body) = match s.as_bytes().first() {
        Some(b'-') => (true, true, &s[1..]),
        Some(b'+') => (false, true, &s[1..]),
        _ => (false, false, s),
    };
    let (radix, digits) =
        if let Some(rest) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, rest)
        } else if let Some(rest) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
            (8, rest)
        } else if let Some(rest) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (2, rest)
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..])
        } else {
            (10, body)
        };
    if digits.is_empty() {
        return false;
    }
    let mut value: u128 = 0;
    for c in digits.chars() {
        let Some(d) = c.to_digit(radix) else {
            return false;
        };
        value = value * u128::from(radix) + u128::from(d);
        if value > u128::from(u64::MAX) {
            return false;
        }
    }
    if negative {
        value <= 1u128 << 63
    } else if signed {
        value <= i64::MAX as u128
    } else {
        true
    }
}

/// yaml.v2 `parseTimestamp`: Go `time.Parse` with `2006-1-2T15:4:5.999999999Z07:00` (also
/// with a lower-case `t`), `2006-1-2 15:4:5.999999999` or `2006-1-2`.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let mut cur = Cursor { b, i: 5 };
    let year: u32 = s[..4].parse().unwrap_or(0);
    let Some(month) = cur.num() else {
        return false;
    };
    if !(1..=12).contains(&month) || !cur.eat(b'-') {
        return false;
    }
    let Some(day) = cur.num() else {
        return false;
    };
    if day < 1 || day > days_in(month, year) {
        return false;
    }
    if cur.done() {
        return true;
    }
    let zone = match cur.next() {
        Some(b'T' | b't') => true,
        Some(b' ') => false,
        _ => return false,
    };
    let (Some(h), true, Some(m), true, Some(sec)) = (
        cur.num(),
        cur.eat(b':'),
        cur.num(),
        cur.eat(b':'),
        cur.num(),
    ) else {
        return false;
    };
    if h > 23 || m > 59 || sec > 59 {
        return false;
    }
    if matches!(cur.peek(), Some(b'.' | b',')) && cur.peek_at(1).is_some_and(|c| c.is_ascii_digit())
    {
        cur.i += 1;
        while cur.peek().is_some_and(|c| c.is_ascii_digit()) {
            cur.i += 1;
        }
    }
    if !zone {
        return cur.done();
    }
    match cur.peek() {
        Some(b'Z') => {
            cur.i += 1;
            cur.done()
        }
        Some(b'+' | b'-') => {
            let rest = &b[cur.i..];
            rest.len() == 6
                && rest[1].is_ascii_digit()
                && rest[2].is_ascii_digit()
                && rest[3] == b':'
                && rest[4].is_ascii_digit()
                && rest[5].is_ascii_digit()
                && (rest[1] - b'0') * 10 + (rest[2] - b'0') <= 24
                && (rest[4] - b'0') * 10 + (rest[5] - b'0') <= 60
        }
        _ => false,
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn peek_at(&self, n: usize) -> Option<u8> {
        self.b.get(self.i + n).copied()
    }
    fn next(&mut self) -> Option<u8> {
        let c = self.peek();
        self.i += 1;
        c
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn done(&self) -> bool {
        self.i >= self.b.len()
    }
    /// Go's `getnum(value, false)`: one digit, or two.
    fn num(&mut self) -> Option<u32> {
        let first = self.peek().filter(u8::is_ascii_digit)?;
        self.i += 1;
        let mut n = u32::from(first - b'0');
        if let Some(second) = self.peek().filter(u8::is_ascii_digit) {
            self.i += 1;
            n = n * 10 + u32::from(second - b'0');
        }
        Some(n)
    }
}

fn days_in(month: u32, year: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// yaml.v2 `isBase60Float`: `1:20` and the like.
fn is_base60_float(s: &str) -> bool {
    let Some(&c) = s.as_bytes().first() else {
        return false;
    };
    if !(c == b'+' || c == b'-' || c.is_ascii_digit()) || !s.contains(':') {
        return false;
    }
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$").ok())
        .as_ref()
        .is_some_and(|re| re.is_match(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_1_1_words_are_not_strings() {
        for s in [
            "", "~", "y", "Y", "n", "yes", "No", "on", "OFF", "true", "False", "null", "NULL",
            ".inf", "-.Inf", ".nan",
        ] {
            assert!(!plain_is_string(s), "{s:?}");
        }
        for s in ["yep", "nope", "o", "t", "Tru", "<<", "none", "-", "."] {
            assert!(plain_is_string(s), "{s:?}");
        }
    }

    #[test]
    fn go_numbers_are_not_strings() {
        for s in [
            "0",
            "-1",
            "+7",
            "0x1F",
            "0o17",
            "017",
            "0b101",
            "-0b1",
            "1_000",
            "1e3",
            "1.5",
            "-.5e2",
            ".5",
            "3.",
            "08",
            "1:20",
            "-1:20:30.5",
            "18446744073709551615",
            "99999999999999999999999",
        ] {
            assert!(!plain_is_string(s), "{s:?}");
        }
        for s in [
            "0x",
            "0xG",
            "1e",
            "1.2.3",
            "1e400",
            "0xFFFFFFFFFFFFFFFFFF",
            "1:60",
            "12a",
        ] {
            assert!(plain_is_string(s), "{s:?}");
        }
    }

    #[test]
    fn go_timestamps_are_not_strings() {
        for s in [
            "2001-12-14",
            "2001-1-2",
            "2001-12-14T21:59:43.10Z",
            "2001-12-14t21:59:43-05:00",
            "2001-12-14 21:59:43.10",
            "2000-02-29",
        ] {
            assert!(!plain_is_string(s), "{s:?}");
        }
        for s in [
            "2001-02-29",
            "2001-13-01",
            "2001-12-14 21:59:43.10 -5",
            "2001-12-14T21:59:43",
            "2001-012-01",
            "v2001-12-14",
        ] {
            assert!(plain_is_string(s), "{s:?}");
        }
    }
}
