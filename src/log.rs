//! Redis-style log lines: `<pid>:M <dd Mon yyyy HH:MM:SS.mmm> <level> <message>`, to
//! stdout or the configured logfile. Any thread may log; lines are written whole.

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::Mutex;

/// Levels, as Redis's `loglevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `.`
    Debug = 0,
    /// `-`
    Verbose = 1,
    /// `*`
    Notice = 2,
    /// `#`
    Warning = 3,
    /// Nothing is logged.
    Nothing = 4,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Notice as u8);
static FILE: Mutex<Option<std::fs::File>> = Mutex::new(None);

/// Sets the minimum level from a `loglevel` word.
pub fn set_level(word: &str) {
    let l = match word {
        "debug" => Level::Debug,
        "verbose" => Level::Verbose,
        "warning" => Level::Warning,
        "nothing" => Level::Nothing,
        _ => Level::Notice,
    };
    LEVEL.store(l as u8, Relaxed);
}

/// Sends log lines to `path` (appending) instead of stdout.
pub fn set_file(path: &str) -> std::io::Result<()> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    *FILE.lock().expect("log lock") = Some(f);
    Ok(())
}

/// Formats a Unix time in ms as `27 Nov 2026 18:12:58.174` (UTC).
pub fn format_time(ms: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = ms / 1000;
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// Writes one line at `level`.
pub fn log(level: Level, msg: &str) {
    if (level as u8) < LEVEL.load(Relaxed) || level == Level::Nothing {
        return;
    }
    let mark = match level {
        Level::Debug => '.',
        Level::Verbose => '-',
        Level::Notice => '*',
        _ => '#',
    };
    let line = format!(
        "{}:M {} {} {}\n",
        std::process::id(),
        format_time(crate::clock::unix_ms()),
        mark,
        msg
    );
    let mut f = FILE.lock().expect("log lock");
    match f.as_mut() {
        Some(file) => {
            let _ = file.write_all(line.as_bytes());
        }
        None => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        }
    }
}

/// Notice level (`*`).
pub fn notice(msg: &str) {
    log(Level::Notice, msg);
}

/// Warning level (`#`).
pub fn warning(msg: &str) {
    log(Level::Warning, msg);
}

/// Verbose level (`-`).
pub fn verbose(msg: &str) {
    log(Level::Verbose, msg);
}

#[cfg(test)]
mod tests {
    #[test]
    fn time_format_matches_redis() {
        assert_eq!(
            super::format_time(1_795_803_181_106),
            "27 Nov 2026 18:13:01.106"
        );
        assert_eq!(super::format_time(0), "01 Jan 1970 00:00:00.000");
    }
}
