//! The invocation's deadline: long loops stop cleanly, with a margin, before Lambda ends the
//! invocation (which would leave `running` run records and half-done work behind).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// When work must stop: the invocation's end minus a margin for closing run records and
/// answering. [`Deadline::none`] never expires (local tools, tests, operators' commands).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    stop_at: Option<Instant>,
}

impl Deadline {
    /// No deadline.
    pub fn none() -> Deadline {
        Deadline { stop_at: None }
    }

    /// Stops `margin` before `remaining` has passed from now.
    pub fn after(remaining: Duration, margin: Duration) -> Deadline {
        Deadline { stop_at: Some(Instant::now() + remaining.saturating_sub(margin)) }
    }

    /// From a Lambda context's deadline (milliseconds since the Unix epoch), `margin` before it.
    /// A value that is no time of this century (0 from a context built by hand; `cargo lambda
    /// watch` 1.9 passes a duration, 600000) means no deadline is known.
    pub fn from_epoch_millis(deadline_ms: u64, margin: Duration) -> Deadline {
        if deadline_ms < PLAUSIBLE_EPOCH_MS {
            return Deadline::none();
        }
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        Deadline::after(Duration::from_millis(deadline_ms.saturating_sub(now_ms)), margin)
    }

    /// Time left before work must stop (`None`: no deadline).
    pub fn remaining(&self) -> Option<Duration> {
        self.stop_at.map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// Whether work must stop now.
    pub fn expired(&self) -> bool {
        self.remaining().is_some_and(|r| r.is_zero())
    }

    /// Runs `work` until the deadline; `None` when the deadline cut it off (the future is
    /// dropped: a vendor call in flight is abandoned, so callers treat its outcome as unknown).
    pub async fn bound<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        match self.remaining() {
            None => Some(work.await),
            Some(left) => tokio::time::timeout(left, work).await.ok(),
        }
    }

    /// Whether a step that may take up to `step` still fits.
    pub fn allows(&self, step: Duration) -> bool {
        self.remaining().is_none_or(|r| r > step)
    }
}

impl Default for Deadline {
    fn default() -> Self {
        Deadline::none()
    }
}

/// 2001-09-09 in milliseconds since the epoch: earlier "deadlines" are not epoch times.
const PLAUSIBLE_EPOCH_MS: u64 = 1_000_000_000_000;

/// The margin every function keeps before its invocation's end: enough to finish a vendor call
/// in flight is not guaranteed, so callers also check [`Deadline::allows`] with a call's length.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bound_cuts_work_off_at_the_deadline() {
        let d = Deadline::after(Duration::from_millis(50), Duration::ZERO);
        assert_eq!(d.bound(async { 7 }).await, Some(7));
        let slow = d.bound(tokio::time::sleep(Duration::from_secs(5))).await;
        assert_eq!(slow, None);
        assert_eq!(Deadline::none().bound(async { 1 }).await, Some(1));
    }

    #[tokio::test]
    async fn deadlines_expire_with_their_margin() {
        assert!(!Deadline::none().expired() && Deadline::none().allows(Duration::from_secs(3600)));
        let d = Deadline::after(Duration::from_secs(30), Duration::from_secs(10));
        assert!(!d.expired());
        assert!(d.allows(Duration::from_secs(5)) && !d.allows(Duration::from_secs(25)));
        assert!(
            Deadline::after(Duration::from_secs(5), Duration::from_secs(10)).expired(),
            "margin larger than time left"
        );
        let past = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64 - 1000;
        assert!(Deadline::from_epoch_millis(past, Duration::ZERO).expired());
        assert_eq!(Deadline::from_epoch_millis(0, Duration::ZERO), Deadline::none(), "no deadline known");
        assert_eq!(Deadline::from_epoch_millis(600_000, Duration::ZERO), Deadline::none(), "a duration, not a time");
        let future = past + 61_000;
        let d = Deadline::from_epoch_millis(future, Duration::from_secs(10));
        assert!(d.remaining().unwrap() > Duration::from_secs(45) && d.remaining().unwrap() <= Duration::from_secs(50));
    }
}
