//! Request pacing: a rate (requests evenly spaced, no burst) and a concurrency limit shared by
//! every clone of a client, fixed or adaptive.
//!
//! Adaptive pacing learns a vendor's unpublished limit by additive increase and multiplicative
//! decrease (AIMD, as TCP's congestion control):
//! - while calls succeed the rate grows: by 10 % a second until a refusal has shown where the
//!   limit is (`ceiling`), then, from 90 % of that ceiling up, by [`PROBE_STEP`] requests a
//!   second each second;
//! - a 429 cuts the rate to [`CUT`] × the rate it came at and remembers that rate as the
//!   ceiling; refusals of requests sent before the cut are the same overshoot and cut nothing
//!   again. The refused request itself waits out its `Retry-After` (the client's retry does);
//!   a `Retry-After` of [`HOLD_FROM`] or more (at most [`MAX_HOLD`]) holds every request of the
//!   pacer too (the vendor wants a pause, not only a slower pace), while a shorter one (a token
//!   bucket's "1 second") is answered by the cut alone, which costs less than a second of
//!   silence per refusal;
//! - only a request the rate held back counts as evidence for a higher rate: when the
//!   concurrency or the work is the limit, the rate does not creep up untested.
//!
//! Against a token bucket the rate saw-tooths between `CUT` × and just above the limit, about
//! 0.93 × the limit on average, with a refusal or two per tooth. [`Pacer::learned`] is what to
//! keep for the next container (see `integration.vendor_pace`).

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{sync::Semaphore, time::Instant};

/// The rate after a refusal, as a share of the rate that was refused.
pub const CUT: f64 = 0.85;
/// Growth per second below the known ceiling (or before any refusal), as a share of the rate.
pub const GROWTH: f64 = 0.10;
/// Growth per second near or above the known ceiling, in requests per second.
pub const PROBE_STEP: f64 = 0.25;
/// From this share of the ceiling up, growth is [`PROBE_STEP`].
pub const PROBE_FROM: f64 = 0.90;
/// A `Retry-After` this long or longer holds every request of an adaptive pacer.
pub const HOLD_FROM: Duration = Duration::from_secs(2);
/// The longest hold: a vendor's larger `Retry-After` (or a far HTTP date) holds no longer, so a
/// cached pacer is never stalled for hours (the refused request itself gives up instead).
pub const MAX_HOLD: Duration = Duration::from_secs(30);

/// What an adaptive pacer has learned, to start the next one from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Learned {
    /// The rate it was pacing at.
    pub rate: f64,
    /// The rate the last refusal came at, if any.
    pub ceiling: Option<f64>,
}

/// Bounds of an adaptive pacer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adaptive {
    /// Never slower than this.
    pub min_rate: f64,
    /// Never faster than this.
    pub max_rate: f64,
}

#[derive(Debug)]
struct State {
    rate: f64,
    ceiling: Option<f64>,
    adaptive: Option<Adaptive>,
    /// When the next request may start.
    next: Instant,
    /// When the rate was last cut: refusals of turns given before then cut nothing more.
    last_cut: Option<Instant>,
    accepted: u64,
    refused: u64,
    /// Counts not yet handed to [`Pacer::take_counts`].
    unsaved: (u64, u64),
}

/// A request rate and a concurrency limit: every attempt (retries included) waits for a slot
/// and for the rate; nothing sleeps a fixed time.
#[derive(Debug, Clone)]
pub struct Pacer {
    slots: Arc<Semaphore>,
    state: Arc<Mutex<State>>,
    concurrency: usize,
}

/// A held turn: the concurrency slot (released on drop), when the turn was given, and whether
/// the rate made it wait (only then does a success say the rate could be higher).
#[derive(Debug)]
pub struct Turn {
    _slot: Option<tokio::sync::OwnedSemaphorePermit>,
    asked: Instant,
    paced: bool,
}

fn sane(rate: f64) -> f64 {
    if rate.is_finite() && rate > 0.0 { rate } else { 1.0 }
}

impl Pacer {
    /// A fixed pacer: `rate_per_second` requests a second, evenly spaced, at most `concurrency`
    /// in flight.
    pub fn new(rate_per_second: f64, concurrency: usize) -> Pacer {
        Pacer::build(sane(rate_per_second), None, None, concurrency)
    }

    /// An adaptive pacer starting at `start` (a configured rate, or what an earlier pacer
    /// learned), within `bounds`.
    pub fn adaptive(start: Learned, bounds: Adaptive, concurrency: usize) -> Pacer {
        let min_rate = sane(bounds.min_rate);
        let bounds = Adaptive { min_rate, max_rate: sane(bounds.max_rate).max(min_rate) };
        let rate = sane(start.rate).clamp(bounds.min_rate, bounds.max_rate);
        Pacer::build(rate, start.ceiling.filter(|c| c.is_finite() && *c > 0.0), Some(bounds), concurrency)
    }

    fn build(rate: f64, ceiling: Option<f64>, adaptive: Option<Adaptive>, concurrency: usize) -> Pacer {
        let state = State {
            rate,
            ceiling,
            adaptive,
            next: Instant::now(),
            last_cut: None,
            accepted: 0,
            refused: 0,
            unsaved: (0, 0),
        };
        Pacer {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            state: Arc::new(Mutex::new(state)),
            concurrency: concurrency.max(1),
        }
    }

    /// Waits for a concurrency slot, then for the request's turn at the current rate.
    pub async fn turn(&self) -> Turn {
        let slot = self.slots.clone().acquire_owned().await.ok();
        let asked = Instant::now();
        let at = {
            let mut s = self.state.lock().expect("pacer state");
            let at = s.next.max(asked);
            s.next = at + Duration::from_secs_f64(1.0 / s.rate);
            at
        };
        tokio::time::sleep_until(at).await;
        Turn { _slot: slot, asked, paced: at > asked }
    }

    /// The vendor took the request of `turn`: an adaptive pacer whose rate held it back speeds up.
    pub fn accepted(&self, turn: &Turn) {
        let mut s = self.state.lock().expect("pacer state");
        s.accepted += 1;
        s.unsaved.0 += 1;
        let Some(bounds) = s.adaptive else { return };
        // A request that did not wait for the rate (the concurrency or the work was the limit)
        // says nothing about whether a higher rate would be taken.
        if !turn.paced {
            return;
        }
        // Per request, so that per second the growth is GROWTH × rate or PROBE_STEP.
        let step = match s.ceiling {
            Some(c) if s.rate >= PROBE_FROM * c => PROBE_STEP / s.rate,
            _ => GROWTH,
        };
        s.rate = (s.rate + step).min(bounds.max_rate);
    }

    /// The vendor refused the request of `turn` for its rate (429), asking to wait
    /// `retry_after`: an adaptive pacer slows down (once per overshoot), and a `Retry-After` of
    /// [`HOLD_FROM`] or more holds every request of it until it has passed (at most [`MAX_HOLD`]).
    /// A fixed pacer only counts the refusal.
    pub fn refused(&self, turn: &Turn, retry_after: Option<Duration>) {
        let now = Instant::now();
        let mut s = self.state.lock().expect("pacer state");
        s.refused += 1;
        s.unsaved.1 += 1;
        let Some(bounds) = s.adaptive else { return };
        if let Some(wait) = retry_after.filter(|w| *w >= HOLD_FROM)
            && let Some(until) = now.checked_add(wait.min(MAX_HOLD))
        {
            s.next = s.next.max(until);
        }
        // A request whose turn was given before the last cut is part of the same overshoot.
        if s.last_cut.is_some_and(|cut| turn.asked <= cut) {
            return;
        }
        let refused_at = s.rate;
        s.ceiling = Some(refused_at);
        s.rate = (refused_at * CUT).max(bounds.min_rate);
        s.last_cut = Some(now);
        tracing::info!(rate = s.rate, ceiling = refused_at, "vendor refused a request for its rate; pacing slower");
    }

    /// Requests per second now.
    pub fn rate(&self) -> f64 {
        self.state.lock().expect("pacer state").rate
    }

    /// Requests in flight at most.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// What this pacer knows now, to start a later one from.
    pub fn learned(&self) -> Learned {
        let s = self.state.lock().expect("pacer state");
        Learned { rate: s.rate, ceiling: s.ceiling }
    }

    /// Requests taken and refused since the last call (for a running total kept elsewhere).
    pub fn take_counts(&self) -> (u64, u64) {
        std::mem::take(&mut self.state.lock().expect("pacer state").unsaved)
    }

    /// Whether the rate adapts.
    pub fn is_adaptive(&self) -> bool {
        self.state.lock().expect("pacer state").adaptive.is_some()
    }

    /// Requests the vendor took and refused for its rate (429) so far.
    pub fn tally(&self) -> (u64, u64) {
        let s = self.state.lock().expect("pacer state");
        (s.accepted, s.refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adaptive(start: f64, ceiling: Option<f64>) -> Pacer {
        Pacer::adaptive(Learned { rate: start, ceiling }, Adaptive { min_rate: 1.0, max_rate: 200.0 }, 4)
    }

    #[tokio::test(start_paused = true)]
    async fn a_fixed_pacer_spaces_requests_evenly_without_a_burst() {
        let p = Pacer::new(20.0, 4);
        let t = Instant::now();
        for _ in 0..10 {
            let turn = p.turn().await;
            p.accepted(&turn);
        }
        // The first goes at once, each next 50 ms later.
        assert_eq!(t.elapsed(), Duration::from_millis(450));
        assert_eq!(p.rate(), 20.0, "a fixed pacer never changes its rate");
        assert_eq!(p.tally(), (10, 0));
        assert_eq!((p.concurrency(), Pacer::new(f64::NAN, 0).rate()), (4, 1.0));
    }

    #[tokio::test(start_paused = true)]
    async fn an_adaptive_pacer_grows_until_refused_then_cuts_once_per_overshoot() {
        let p = adaptive(20.0, None);
        let first = p.turn().await;
        p.accepted(&first);
        assert_eq!(p.rate(), 20.0, "the first request did not wait for the rate: no evidence");
        let second = p.turn().await;
        p.accepted(&second);
        assert!((p.rate() - 20.1).abs() < 1e-9, "slow start: GROWTH per success the rate held back");
        // Two requests in flight when the limit is crossed: both refused, one cut.
        let a = p.turn().await;
        let b = p.turn().await;
        p.refused(&a, None);
        let after_cut = p.rate();
        assert!((after_cut - 20.1 * CUT).abs() < 1e-9);
        p.refused(&b, None);
        assert_eq!(p.rate(), after_cut, "a refusal of a request sent before the cut cuts nothing more");
        assert_eq!(p.learned(), Learned { rate: after_cut, ceiling: Some(20.1) });
        drop((first, second));
        // A request sent after the cut and refused cuts again.
        tokio::time::advance(Duration::from_millis(10)).await;
        let c = p.turn().await;
        p.refused(&c, None);
        assert!((p.rate() - after_cut * CUT).abs() < 1e-9);
        assert_eq!(p.tally(), (2, 3));
        assert_eq!(p.take_counts(), (2, 3));
        assert_eq!(p.take_counts(), (0, 0), "counts are handed over once");
    }

    #[tokio::test(start_paused = true)]
    async fn near_the_ceiling_growth_is_a_small_additive_probe() {
        let p = adaptive(28.0, Some(30.0));
        let _free = p.turn().await;
        let turn = p.turn().await;
        p.accepted(&turn);
        assert!((p.rate() - (28.0 + PROBE_STEP / 28.0)).abs() < 1e-9);
        let low = adaptive(10.0, Some(30.0));
        let _free = low.turn().await;
        let turn = low.turn().await;
        low.accepted(&turn);
        assert!((low.rate() - (10.0 + GROWTH)).abs() < 1e-9, "far below the ceiling it grows fast again");
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_holds_every_request_and_bounds_hold() {
        let p = Pacer::adaptive(Learned { rate: 10.0, ceiling: None }, Adaptive { min_rate: 9.0, max_rate: 10.05 }, 8);
        drop(p.turn().await);
        let a = p.turn().await;
        p.accepted(&a);
        assert_eq!(p.rate(), 10.05, "never above max_rate");
        let b = p.turn().await;
        p.refused(&b, Some(Duration::from_secs(3)));
        assert_eq!(p.rate(), 9.0, "never below min_rate");
        let t = Instant::now();
        let _c = p.turn().await;
        assert!(t.elapsed() >= Duration::from_secs(3), "the Retry-After is waited out: {:?}", t.elapsed());
        drop(a);
        let d = p.turn().await;
        p.refused(&d, Some(Duration::from_secs(1)));
        let t = Instant::now();
        let _e = p.turn().await;
        assert!(t.elapsed() < Duration::from_millis(200), "a short Retry-After holds no other request");
        // A vendor asking for hours holds the pacer MAX_HOLD at most.
        tokio::time::advance(Duration::from_secs(1)).await;
        let f = p.turn().await;
        p.refused(&f, Some(Duration::from_secs(86_400 * 365 * 100)));
        let t = Instant::now();
        drop(p.turn().await);
        assert!(t.elapsed() <= MAX_HOLD + Duration::from_secs(1), "held {:?}", t.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn a_fixed_pacer_only_counts_refusals_and_idle_capacity_is_no_evidence() {
        let fixed = Pacer::new(10.0, 2);
        let a = fixed.turn().await;
        fixed.refused(&a, Some(Duration::from_secs(5)));
        drop(a);
        let t = Instant::now();
        drop(fixed.turn().await);
        assert!(t.elapsed() <= Duration::from_millis(100), "a fixed pacer holds nothing: {:?}", t.elapsed());
        assert_eq!((fixed.rate(), fixed.tally()), (10.0, (0, 1)));
        // Requests far apart (the work, not the rate, is the limit): the rate does not creep up.
        let p = adaptive(10.0, None);
        for _ in 0..20 {
            let turn = p.turn().await;
            p.accepted(&turn);
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        assert_eq!(p.rate(), 10.0);
    }

    /// A vendor's token bucket (the sandbox's rule): `limit` tokens a second, `burst` at most.
    struct Bucket {
        limit: f64,
        burst: f64,
        tokens: f64,
        at: Instant,
    }

    impl Bucket {
        fn take(&mut self, now: Instant) -> bool {
            self.tokens = (self.tokens + (now - self.at).as_secs_f64() * self.limit).min(self.burst);
            self.at = now;
            if self.tokens >= 1.0 {
                self.tokens -= 1.0;
                true
            } else {
                false
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn against_an_unknown_limit_it_settles_near_the_limit_with_few_refusals() {
        // Configured at 20 requests/s; the vendor takes 30 (burst 5) and does not say so.
        let p = adaptive(20.0, None);
        let mut bucket = Bucket { limit: 30.0, burst: 5.0, tokens: 5.0, at: Instant::now() };
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(120) {
            let turn = p.turn().await;
            if bucket.take(Instant::now()) {
                p.accepted(&turn);
            } else {
                // As the sandbox answers: whole seconds, at least one.
                p.refused(&turn, Some(Duration::from_secs(1)));
            }
        }
        let (accepted, refused) = p.tally();
        let share = accepted as f64 / t.elapsed().as_secs_f64() / 30.0;
        let refused_share = refused as f64 / (accepted + refused) as f64;
        assert!(share >= 0.9, "settled at {share:.3} of the limit");
        assert!(refused_share <= 0.01, "{refused} of {} refused", accepted + refused);
        assert!(p.learned().ceiling.is_some_and(|c| (30.0..33.0).contains(&c)), "{:?}", p.learned());
    }
}
