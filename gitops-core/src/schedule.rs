//! When to reconcile next: Go-format durations (`1m30s`), the jittered interval, the retry
//! interval after a failure, timeouts, and the dependency requeue.
//!
//! ```
//! use std::time::Duration;
//! use gitops_core::schedule::{parse_duration, format_duration, jittered};
//! let d = parse_duration("spec.interval", "1m30s").unwrap();
//! assert_eq!(d, Duration::from_secs(90));
//! assert_eq!(format_duration(Duration::from_secs(3600)), "1h0m0s");
//! let j = jittered(d, 0.05, 42);
//! assert!(j >= Duration::from_secs_f64(85.5) && j <= Duration::from_secs_f64(94.5));
//! ```

use std::time::Duration;

use crate::Error;

/// Flux's default `--interval-jitter-percentage`, as a fraction.
pub const DEFAULT_JITTER: f64 = 0.05;

/// Flux's default `--requeue-dependency`: how long to wait for a dependency or a missing
/// artifact before trying again.
pub const DEPENDENCY_REQUEUE: Duration = Duration::from_secs(30);

/// How often health checks are polled while objects are in progress.
pub const HEALTH_POLL: Duration = Duration::from_secs(5);

/// The GitRepository `spec.timeout` default.
pub const GIT_DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Parses a Go duration (`300ms`, `1.5h`, `2h45m`). `field` names the field in the error.
pub fn parse_duration(field: &str, value: &str) -> Result<Duration, Error> {
    let invalid = || Error::InvalidDuration {
        field: field.into(),
        value: value.into(),
    };
    if value == "0" {
        return Ok(Duration::ZERO);
    }
    if value.is_empty() {
        return Err(invalid());
    }
    let mut rest = value;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        let (num, after) = rest.split_at(num_len);
        let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
        if whole.is_empty() || (num.contains('.') && frac.is_empty()) {
            return Err(invalid());
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(invalid()),
        };
        let whole: u128 = whole.parse().map_err(|_| invalid())?;
        // Digits past the 18th are below a nanosecond even for hours: drop them.
        let frac = &frac[..frac.len().min(18)];
        let frac_digits = u32::try_from(frac.len()).map_err(|_| invalid())?;
        let frac_value: u128 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| invalid())?
        };
        let denominator = 10u128.checked_pow(frac_digits).ok_or_else(invalid)?;
        total = whole
            .checked_mul(scale)
            .and_then(|w| w.checked_add(frac_value * scale / denominator))
            .and_then(|v| total.checked_add(v))
            .ok_or_else(invalid)?;
        rest = next;
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| invalid())?;
    Ok(Duration::new(secs, (total % 1_000_000_000) as u32))
}

/// Formats a duration as Go's `time.Duration.String` does (`1h0m0s`, `4m30s`, `1.5s`,
/// `500ms`), which is how Flux prints durations in its messages.
pub fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000_000_000 {
        let (scale, unit) = if nanos < 1_000 {
            (1, "ns")
        } else if nanos < 1_000_000 {
            (1_000, "µs")
        } else {
            (1_000_000, "ms")
        };
        return format!("{}{unit}", fraction(nanos, scale));
    }
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    let sub = u128::from(d.subsec_nanos());
    let seconds = fraction(u128::from(s) * 1_000_000_000 + sub, 1_000_000_000);
    match (h, m) {
        (0, 0) => format!("{seconds}s"),
        (0, m) => format!("{m}m{seconds}s"),
        (h, m) => format!("{h}h{m}m{seconds}s"),
    }
}

/// `value / scale` with the fraction printed without trailing zeros.
fn fraction(value: u128, scale: u128) -> String {
    let whole = value / scale;
    let mut frac = value % scale;
    if frac == 0 {
        return whole.to_string();
    }
    let mut digits = scale.to_string().len() - 1;
    while frac.is_multiple_of(10) {
        frac /= 10;
        digits -= 1;
    }
    format!("{whole}.{frac:0digits$}")
}

/// `interval` moved by up to ±`percent` (a fraction, e.g. 0.05), deterministically from
/// `seed`: the same seed gives the same delay, different objects spread out.
pub fn jittered(interval: Duration, percent: f64, seed: u64) -> Duration {
    let unit = (mix(seed) >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
    let factor = 1.0 + percent.clamp(0.0, 1.0) * (2.0 * unit - 1.0);
    interval.mul_f64(factor.max(0.0))
}

/// A seed for [`jittered`] from an object's key and the current time, so that the delay
/// differs between objects and between runs.
pub fn seed(key: &str, now_seconds: i64) -> u64 {
    // FNV-1a: stable across Rust versions, unlike `DefaultHasher`.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes().chain(now_seconds.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn mix(mut z: u64) -> u64 {
    // splitmix64 finaliser.
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A Kustomization's effective timeout: `spec.timeout` when set, else `interval - 30s`, never
/// below 30s (kustomize-controller's `GetTimeout`).
pub fn kustomization_timeout(interval: Duration, timeout: Option<Duration>) -> Duration {
    let d = timeout.unwrap_or_else(|| interval.saturating_sub(Duration::from_secs(30)));
    d.max(Duration::from_secs(30))
}

/// The retry interval after a failure: `spec.retryInterval` when set, else the interval.
pub fn retry_interval(interval: Duration, retry: Option<Duration>) -> Duration {
    retry.unwrap_or(interval)
}

/// Exponential backoff between `min` and `max` for the `failures`-th consecutive failure
/// (1-based), as controller-runtime's rate limiter does for the source controller.
pub fn backoff(failures: u32, min: Duration, max: Duration) -> Duration {
    let exp = failures.saturating_sub(1).min(32);
    min.saturating_mul(1u32 << exp.min(31)).min(max)
}

/// k8s.io/apimachinery's `duration.HumanDuration` of a duration in nanoseconds: how
/// kubectl and the API server's printers show an age (`45s`, `5m3s`, `3h1m`, `2d2h`, `2y1d`).
/// One implementation for testenv's Tables and the command line's columns.
pub fn human_duration(nanos: i128) -> String {
    const SECOND: i128 = 1_000_000_000;
    let seconds = nanos / SECOND;
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = nanos / (60 * SECOND);
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = nanos / (3600 * SECOND);
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let d = (hours / 24) % 365;
        return if d == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{d}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_go_durations() {
        let p = |s| parse_duration("spec.interval", s).unwrap();
        assert_eq!(p("1m"), Duration::from_secs(60));
        assert_eq!(p("1h30m"), Duration::from_secs(5400));
        assert_eq!(p("1.5h"), Duration::from_secs(5400));
        assert_eq!(p("500ms"), Duration::from_millis(500));
        assert_eq!(p("0"), Duration::ZERO);
        for bad in ["", "1", "m", "1x", "-1m", "1.m", "1m-"] {
            let err = parse_duration("spec.interval", bad).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "invalid duration '{bad}' in field 'spec.interval': expected a Go duration such as 1m30s"
                )
            );
        }
    }

    #[test]
    fn formats_like_go() {
        let f = |secs: f64| format_duration(Duration::from_secs_f64(secs));
        assert_eq!(f(0.0), "0s");
        assert_eq!(f(30.0), "30s");
        assert_eq!(f(60.0), "1m0s");
        assert_eq!(f(270.0), "4m30s");
        assert_eq!(f(3600.0), "1h0m0s");
        assert_eq!(f(1.5), "1.5s");
        assert_eq!(f(0.5), "500ms");
        assert_eq!(format_duration(Duration::from_micros(1500)), "1.5ms");
        assert_eq!(format_duration(Duration::from_nanos(20)), "20ns");
    }

    #[test]
    fn timeouts_and_retries_follow_flux() {
        let m = |n: u64| Duration::from_secs(60 * n);
        assert_eq!(kustomization_timeout(m(5), None), Duration::from_secs(270));
        assert_eq!(kustomization_timeout(m(1), None), Duration::from_secs(30));
        assert_eq!(kustomization_timeout(m(10), Some(m(2))), m(2));
        assert_eq!(
            kustomization_timeout(m(10), Some(Duration::from_secs(5))),
            Duration::from_secs(30)
        );
        assert_eq!(retry_interval(m(10), None), m(10));
        assert_eq!(retry_interval(m(10), Some(m(1))), m(1));
    }

    #[test]
    fn backoff_doubles_to_the_cap() {
        let min = Duration::from_millis(750);
        let max = Duration::from_secs(900);
        assert_eq!(backoff(1, min, max), min);
        assert_eq!(backoff(2, min, max), Duration::from_millis(1500));
        assert_eq!(backoff(40, min, max), max);
    }

    #[test]
    fn jitter_differs_by_seed() {
        let i = Duration::from_secs(600);
        let a = jittered(i, DEFAULT_JITTER, seed("default/a", 0));
        let b = jittered(i, DEFAULT_JITTER, seed("default/b", 0));
        assert_ne!(a, b);
        assert_eq!(jittered(i, 0.0, 7), i);
    }

    proptest! {
        #[test]
        fn jitter_stays_in_bounds(secs in 1u64..100_000, s in any::<u64>()) {
            let i = Duration::from_secs(secs);
            let j = jittered(i, DEFAULT_JITTER, s);
            prop_assert!(j >= i.mul_f64(0.95) && j <= i.mul_f64(1.05));
        }

        #[test]
        fn format_parse_round_trips(ms in 0u64..10_000_000_000) {
            let d = Duration::from_millis(ms);
            prop_assert_eq!(parse_duration("f", &format_duration(d)).unwrap(), d);
        }
    }

    #[test]
    fn human_duration_follows_apimachinery() {
        let s = 1_000_000_000i128;
        assert_eq!(human_duration(-3 * s), "<invalid>");
        assert_eq!(human_duration(-s / 2), "0s");
        assert_eq!(human_duration(119 * s), "119s");
        assert_eq!(human_duration(120 * s), "2m");
        assert_eq!(human_duration(125 * s), "2m5s");
        assert_eq!(human_duration(179 * 60 * s), "179m");
        assert_eq!(human_duration((3 * 3600 + 60) * s), "3h1m");
        assert_eq!(human_duration(47 * 3600 * s), "47h");
        assert_eq!(human_duration(50 * 3600 * s), "2d2h");
        assert_eq!(human_duration(400 * 24 * 3600 * s), "400d");
        assert_eq!(human_duration(731 * 24 * 3600 * s), "2y1d");
        assert_eq!(human_duration(9 * 365 * 24 * 3600 * s), "9y");
    }
}
