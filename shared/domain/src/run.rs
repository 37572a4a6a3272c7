//! Counters of one invocation, written to the warehouse as a run record.

use serde::{Deserialize, Serialize};

/// What a run read, wrote, skipped and failed, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    /// Records read from the source (after de-duplication within the run).
    pub read: u64,
    /// Records inserted or changed in the target.
    pub written: u64,
    /// Records that changed nothing (replays, overlaps, unchanged rows).
    pub skipped: u64,
    /// Records that failed; each failure is also stored next to its record.
    pub failed: u64,
    /// Short reasons for failures and early stops, at most [`RunCounts::MAX_NOTES`].
    pub notes: Vec<String>,
}

impl RunCounts {
    /// Most notes kept per run; the counters stay exact.
    pub const MAX_NOTES: usize = 50;

    /// Adds a note unless the list is full.
    pub fn note(&mut self, note: impl Into<String>) {
        if self.notes.len() < Self::MAX_NOTES {
            self.notes.push(note.into());
        }
    }

    /// Adds another run's counters into this one.
    pub fn absorb(&mut self, other: RunCounts) {
        self.read += other.read;
        self.written += other.written;
        self.skipped += other.skipped;
        self.failed += other.failed;
        for n in other.notes {
            self.note(n);
        }
    }
}
