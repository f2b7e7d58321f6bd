//! The process-wide memory budget: its default from the machine, the CLI's
//! size syntax, and sizes written for people.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

pub const KIB: u64 = 1 << 10;
pub const MIB: u64 = 1 << 20;
pub const GIB: u64 = 1 << 30;
pub const TIB: u64 = 1 << 40;

/// The budget set by [`set_budget`]; 0 while none is set (the default applies).
static BUDGET: AtomicU64 = AtomicU64::new(0);
static DEFAULT: OnceLock<u64> = OnceLock::new();

/// The bytes a trainer may hold on the host: the one set by [`set_budget`],
/// else [`default_budget`].
pub fn budget() -> u64 {
    match BUDGET.load(Ordering::Relaxed) {
        0 => *DEFAULT.get_or_init(default_budget),
        b => b,
    }
}

/// Sets the budget for the rest of the process (0 goes back to the default).
/// Unlike `par::set_threads`, a later call replaces an earlier one.
pub fn set_budget(bytes: u64) {
    BUDGET.store(bytes, Ordering::Relaxed);
}

/// What a browser tab's worker can hold without the tab growing to its
/// 4 GiB wasm32 ceiling (and dying there with `RuntimeError: unreachable`).
#[cfg(target_arch = "wasm32")]
pub fn default_budget() -> u64 {
    GIB
}

/// Three quarters of the machine's memory (the smaller of `MemTotal` in
/// /proc/meminfo and a cgroup v2 limit), leaving room for the rest of the
/// system; 8 GiB where neither can be read.
#[cfg(not(target_arch = "wasm32"))]
pub fn default_budget() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| mem_total(&s));
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok().and_then(|s| s.trim().parse::<u64>().ok());
    match (meminfo, cgroup) {
        (Some(m), Some(c)) => m.min(c) / 4 * 3,
        (Some(m), None) | (None, Some(m)) => m / 4 * 3,
        (None, None) => 8 * GIB,
    }
}

/// `MemTotal` in bytes from the text of /proc/meminfo ("MemTotal:  24683656 kB").
pub fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut words = line["MemTotal:".len()..].split_whitespace();
    let n: u64 = words.next()?.parse().ok()?;
    let unit = match words.next() {
        None => 1,
        Some(u) if u.eq_ignore_ascii_case("kb") => KIB,
        Some(_) => return None,
    };
    n.checked_mul(unit).filter(|&b| b > 0)
}

/// A size for the CLI: plain bytes ("1048576") or a number with a binary unit,
/// K, M, G or T (powers of 1024), optionally followed by "B" or "iB" and in any
/// case: "512M", "1.5G", "2GiB", "800MB". Zero, negative, non-finite and
/// unparsable sizes are refused with a message saying what is expected.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let s = text.trim();
    let expected = "expected a size such as 512M, 1.5G, 2GiB or a number of bytes";
    let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    let (number, unit) = (s[..split].trim(), s[split..].trim());
    let scale = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => KIB,
        "m" | "mb" | "mib" => MIB,
        "g" | "gb" | "gib" => GIB,
        "t" | "tb" | "tib" => TIB,
        _ => return Err(format!("memory size {text:?}: unknown unit {unit:?}; {expected}")),
    };
    // Digits and at most one point only: no sign, exponent, "inf" or "NaN".
    let well_formed = !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit() || c == '.')
        && number.chars().filter(|&c| c == '.').count() <= 1
        && number.chars().any(|c| c.is_ascii_digit());
    if !well_formed {
        return Err(format!("memory size {text:?} is not a positive number; {expected}"));
    }
    let value: f64 = number.parse().map_err(|_| format!("memory size {text:?} is not a number; {expected}"))?;
    let bytes = value * scale as f64;
    if bytes.is_nan() || bytes < 1.0 {
        return Err(format!("memory size {text:?} must be at least one byte"));
    }
    if bytes >= u64::MAX as f64 {
        return Err(format!("memory size {text:?} is too large"));
    }
    Ok(bytes.round() as u64)
}

/// A size for people, in binary units to three significant figures, trailing
/// zeros dropped: "1000 bytes", "1.5 KiB", "68.7 GiB", "512 MiB", "128 GiB".
pub fn format_size(bytes: u64) -> String {
    let units = [(TIB, "TiB"), (GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")];
    for (size, name) in units {
        if bytes >= size {
            let v = bytes as f64 / size as f64;
            let digits = if v >= 100.0 {
                0
            } else if v >= 10.0 {
                1
            } else {
                2
            };
            let text = format!("{v:.digits$}");
            let text = if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { &text };
            return format!("{text} {name}");
        }
    }
    if bytes == 1 {
        "1 byte".into()
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn sizes_parse_in_binary_units() {
        let ok = [
            ("1048576", 1 << 20),
            ("512M", 512 * MIB),
            ("512m", 512 * MIB),
            ("1.5G", 3 * GIB / 2),
            ("2GiB", 2 * GIB),
            ("800MB", 800 * MIB),
            ("64 KiB", 64 * KIB),
            ("1T", TIB),
            ("  3g ", 3 * GIB),
            ("7b", 7),
            ("0.5K", 512),
        ];
        for (text, want) in ok {
            assert_eq!(parse_size(text), Ok(want), "{text}");
        }
        let bad = [
            ("0", "at least one byte"),
            ("0G", "at least one byte"),
            ("0.1", "at least one byte"),
            ("-1G", "not a positive number"),
            ("NaN", "unknown unit"),
            ("inf", "unknown unit"),
            ("1e9", "unknown unit"),
            ("", "not a positive number"),
            ("G", "not a positive number"),
            ("1.2.3M", "not a positive number"),
            ("12 apples", "unknown unit"),
            ("99999999999T", "too large"),
        ];
        for (text, want) in bad {
            let e = parse_size(text).unwrap_err();
            assert!(e.contains(want) && e.contains("memory size"), "{text}: {e}");
        }
    }

    #[test]
    fn sizes_format_for_people() {
        assert_eq!(format_size(0), "0 bytes");
        assert_eq!(format_size(1), "1 byte");
        assert_eq!(format_size(1000), "1000 bytes");
        assert_eq!(format_size(1536), "1.5 KiB");
        assert_eq!(format_size(512 * MIB), "512 MiB");
        assert_eq!(format_size(GIB), "1 GiB");
        assert_eq!(format_size(3 * GIB / 2), "1.5 GiB");
        assert_eq!(format_size(5_033_164_800), "4.69 GiB");
        assert_eq!(format_size(68_719_476_736 + GIB / 2), "64.5 GiB");
        assert_eq!(format_size(137_506_062_336), "128 GiB");
        assert_eq!(format_size(18_512_000_000), "17.2 GiB");
    }

    #[test]
    fn the_machine_memory_is_read_from_meminfo() {
        let text = "MemTotal:       24683656 kB\nMemFree:         1000 kB\n";
        assert_eq!(mem_total(text), Some(24683656 * 1024));
        assert_eq!(mem_total("MemFree: 12 kB\n"), None);
        assert_eq!(mem_total("MemTotal: lots kB\n"), None);
        assert_eq!(mem_total("MemTotal: 0 kB\n"), None);
        let b = default_budget();
        assert!(b >= 256 * MIB, "{b}");
        #[cfg(target_arch = "wasm32")]
        assert_eq!(b, GIB);
    }
}
