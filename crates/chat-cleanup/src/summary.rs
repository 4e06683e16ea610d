//! The report printed on stdout: one `key: value` line per kind, stable for
//! scripts (`grep '^messages:'`).

use std::fmt;

use chrono::NaiveDateTime;

use crate::files::Tally;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub dry_run: bool,
    /// Messages written before this (UTC) were removed.
    pub cutoff: NaiveDateTime,
    pub messages: usize,
    /// Image files of removed messages.
    pub images: Tally,
    /// Old uploads that no message references.
    pub orphans: Tally,
    /// Whether a log folder was configured.
    pub log_dir: bool,
    pub logs: Tally,
}

impl Summary {
    pub fn bytes(&self) -> u64 {
        self.images.bytes + self.orphans.bytes + self.logs.bytes
    }

    /// Files that could not be removed.
    pub fn failed(&self) -> usize {
        self.images.failed + self.orphans.failed + self.logs.failed
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dry_run {
            writeln!(
                f,
                "dry run: nothing was removed; these counts are what would be"
            )?;
        }
        let verb = if self.dry_run { "to remove" } else { "removed" };
        writeln!(
            f,
            "messages: {} ({verb}, written before {} UTC)",
            self.messages,
            self.cutoff.format("%Y-%m-%d %H:%M:%S")
        )?;
        writeln!(
            f,
            "images: {} ({} bytes)",
            self.images.files, self.images.bytes
        )?;
        writeln!(
            f,
            "orphan uploads: {} ({} bytes)",
            self.orphans.files, self.orphans.bytes
        )?;
        if self.log_dir {
            writeln!(
                f,
                "log files: {} ({} bytes)",
                self.logs.files, self.logs.bytes
            )?;
        } else {
            writeln!(f, "log files: 0 (no --log-dir given)")?;
        }
        writeln!(f, "bytes: {}", self.bytes())?;
        write!(f, "failed: {}", self.failed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_stable() {
        let s = Summary {
            messages: 3,
            images: Tally {
                files: 1,
                bytes: 10,
                failed: 0,
            },
            orphans: Tally {
                files: 2,
                bytes: 5,
                failed: 1,
            },
            log_dir: true,
            logs: Tally {
                files: 4,
                bytes: 100,
                failed: 0,
            },
            ..Summary::default()
        };
        let text = s.to_string();
        assert!(text.starts_with("messages: 3 (removed"));
        assert!(text.contains("\nimages: 1 (10 bytes)\n"));
        assert!(text.contains("\norphan uploads: 2 (5 bytes)\n"));
        assert!(text.contains("\nlog files: 4 (100 bytes)\n"));
        assert!(text.contains("\nbytes: 115\n"));
        assert!(text.ends_with("failed: 1"));
        let dry = Summary { dry_run: true, ..s }.to_string();
        assert!(dry.starts_with("dry run:"));
    }
}
