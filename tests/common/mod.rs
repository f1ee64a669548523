//! What more than one test binary needs.

/// A mask line (`SigBlk:`, `SigIgn:`, `SigCgt:`, ...) of a /proc
/// `status` text, as a bit mask (signal n is bit n - 1).
pub fn status_mask(status: &str, field: &str) -> u64 {
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}
