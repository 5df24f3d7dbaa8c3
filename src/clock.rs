//! The wall clock, read in one place. A shard reads it once per turn (`Shard::now_ms`);
//! everything else that needs the time of day asks here. A leaf: imports nothing.

/// Milliseconds since the Unix epoch (0 if the system clock is before it).
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
