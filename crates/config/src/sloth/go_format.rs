//! Text exactly as Sloth's Go code prints it: floats as `fmt`'s `%g`/`%v`, label values
//! quoted as `strconv.Quote` does, and durations as Prometheus' `model.Duration`. Generated
//! expressions are compared as strings, so these must agree digit for digit.

use staunch_domain::duration::HumanDuration;

/// A float as Go's `%v` and `%g` print it: the shortest digits that round-trip, in
/// exponent form (`1e-05`, `1.5e+06`) when the exponent is below -4 or at least 6.
pub fn go_float(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let sign = if value < 0.0 { "-" } else { "" };
    // Rust's `{:e}` gives the shortest round-trip digits, e.g. "1.0000000000331966e-5".
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    if !(-4..6).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}{fraction}e{exponent_sign}{:02}", exponent.abs());
    }
    if exponent < 0 {
        let zeros = "0".repeat((-exponent - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let integer_len = exponent as usize + 1;
    if digits.len() <= integer_len {
        return format!("{sign}{digits}{}", "0".repeat(integer_len - digits.len()));
    }
    format!("{sign}{}.{}", &digits[..integer_len], &digits[integer_len..])
}

/// A string as Go's `strconv.Quote` writes it (used for label values in selectors).
pub fn go_quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for character in text.chars() {
        match character {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            '\r' => quoted.push_str("\\r"),
            '\u{7}' => quoted.push_str("\\a"),
            '\u{8}' => quoted.push_str("\\b"),
            '\u{c}' => quoted.push_str("\\f"),
            '\u{b}' => quoted.push_str("\\v"),
            control if (control as u32) < 0x20 || control as u32 == 0x7f => {
                quoted.push_str(&format!("\\x{:02x}", control as u32));
            }
            control if control.is_control() => quoted.push_str(&format!("\\u{:04x}", control as u32)),
            other => quoted.push(other),
        }
    }
    quoted.push('"');
    quoted
}

/// A duration as Prometheus' `model.Duration.String` writes it: years and weeks only when
/// they divide it exactly (so 28 days is `4w` but 30 days stays `30d`), then d, h, m, s, ms.
pub fn prom_duration(duration: HumanDuration) -> String {
    let mut remaining = duration.as_millis();
    if remaining == 0 {
        return "0s".to_string();
    }
    let mut text = String::new();
    let units: [(&str, u64, bool); 7] = [
        ("y", 365 * 86_400_000, true),
        ("w", 7 * 86_400_000, true),
        ("d", 86_400_000, false),
        ("h", 3_600_000, false),
        ("m", 60_000, false),
        ("s", 1_000, false),
        ("ms", 1, false),
    ];
    for (unit, size, only_exact) in units {
        if only_exact && !remaining.is_multiple_of(size) {
            continue;
        }
        let count = remaining / size;
        if count > 0 {
            text.push_str(&format!("{count}{unit}"));
            remaining -= count * size;
        }
    }
    text
}

/// A label set as Prometheus' `LabelSet.String` writes it: `{a="x", b="y"}`, sorted.
pub fn prom_selector<'a>(labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut pairs: Vec<(&str, &str)> = labels.into_iter().collect();
    pairs.sort();
    let inner: Vec<String> = pairs.iter().map(|(name, value)| format!("{name}={}", go_quote(value))).collect();
    format!("{{{}}}", inner.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_go_prints_them() {
        for (value, expected) in [
            (14.4, "14.4"),
            (6.0, "6"),
            (5.6000000000000005, "5.6000000000000005"),
            (0.0009999999999999432, "0.0009999999999999432"),
            (99.9 / 100.0, "0.9990000000000001"),
            (30.0, "30"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.000012345, "1.2345e-05"),
            (1_000_000.0, "1e+06"),
            (123_456.0, "123456"),
            (1_234_567.0, "1.234567e+06"),
            (-2.5, "-2.5"),
        ] {
            assert_eq!(go_float(value), expected, "{value:?}");
        }
    }

    #[test]
    fn durations_print_as_prometheus_prints_them() {
        for (seconds, expected) in [
            (300, "5m"),
            (3_600, "1h"),
            (86_400, "1d"),
            (3 * 86_400, "3d"),
            (28 * 86_400, "4w"),
            (30 * 86_400, "30d"),
            (7 * 86_400, "1w"),
            (5_400, "1h30m"),
        ] {
            assert_eq!(prom_duration(HumanDuration::from_secs(seconds)), expected);
        }
    }

    #[test]
    fn selectors_sort_and_quote() {
        assert_eq!(prom_selector([("b", "x\"y"), ("a", "1")]), r#"{a="1", b="x\"y"}"#);
    }
}
