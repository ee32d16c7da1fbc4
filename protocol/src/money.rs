//! Money is integer minor units (satang, cents) on the wire and in storage; people
//! read and type it with two decimals.

/// Formats minor units with two decimals: `27500` → `"275.00"`.
pub fn format(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Parses `"120"`, `"120.5"` or `"120.50"` into minor units.
pub fn parse(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() || text.starts_with(['-', '+']) {
        return None;
    }
    let (whole, frac) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 2 {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    whole.checked_mul(100)?.checked_add(frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(format(27500), "275.00");
        assert_eq!(format(5), "0.05");
        assert_eq!(format(-150), "-1.50");
        assert_eq!(parse("120.00"), Some(12000));
        assert_eq!(parse("35"), Some(3500));
        assert_eq!(parse("0.5"), Some(50));
        assert_eq!(parse(".25"), Some(25));
        for bad in ["", "-1", "1.234", "abc", "1,00", "."] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
