//! When `--daily-at HH:MM` runs the cleanup: the calendar arithmetic, free of
//! clocks, sleeps and signals so that it can be tested with any "now" and any
//! time zone. [`crate::daily`] drives it with the real clock.
//!
//! The rules:
//! - HH:MM is a wall-clock time of the zone (`TZ`, else the system's zone).
//! - A time the clock skips that day (spring forward: 02:30 on a day that
//!   jumps from 02:00 to 03:00) runs at the first valid minute after it, the
//!   moment of the jump (03:00).
//! - A time the clock shows twice (fall back: 01:30 on a day that goes from
//!   02:00 back to 01:00) runs once, at the first of the two.
//! - "Now" exactly at HH:MM counts as past: the next run is the next day's
//!   (the run of that minute is the one being started).
//! - Missed days are not made up one by one. When the scheduler finds its run
//!   time passed, however long ago (the machine was suspended, the clock was
//!   set forward, the previous run outlasted a day), it runs once, and the
//!   next run is the first HH:MM after that run ends: at most one catch-up
//!   run, never a burst.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};

/// A time of day, `HH:MM` on the 24-hour clock (`H:MM` is accepted too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DailyAt {
    hour: u32,
    minute: u32,
}

/// The message of an invalid `--daily-at` / `CLEANUP_AT` value.
pub const DAILY_AT_EXPECTED: &str =
    "expected HH:MM, a time of day on the 24-hour clock from 00:00 to 23:59 (no seconds)";

impl DailyAt {
    /// `None` unless `hour < 24` and `minute < 60`.
    pub fn new(hour: u32, minute: u32) -> Option<Self> {
        (hour < 24 && minute < 60).then_some(DailyAt { hour, minute })
    }

    pub fn hour(self) -> u32 {
        self.hour
    }

    pub fn minute(self) -> u32 {
        self.minute
    }

    pub fn time(self) -> NaiveTime {
        NaiveTime::from_hms_opt(self.hour, self.minute, 0).expect("checked in DailyAt::new")
    }
}

impl FromStr for DailyAt {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let digits = |p: &str, len: std::ops::RangeInclusive<usize>| {
            len.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
        };
        s.split_once(':')
            .filter(|(h, m)| digits(h, 1..=2) && digits(m, 2..=2))
            .and_then(|(h, m)| DailyAt::new(h.parse().ok()?, m.parse().ok()?))
            .ok_or_else(|| DAILY_AT_EXPECTED.to_owned())
    }
}

impl fmt::Display for DailyAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

/// The instant at which the clock of `tz` shows `at` on the local `date`:
/// the first of the two in a fall-back overlap, and the first valid minute
/// after it when a spring-forward gap skips it.
pub fn run_instant<Tz: TimeZone>(tz: &Tz, date: NaiveDate, at: DailyAt) -> DateTime<Utc> {
    let wanted = date.and_time(at.time());
    let mut local = wanted;
    // A gap is an hour or less in practice; the longest on record is a whole
    // day (Pacific/Apia skipped 30 December 2011). Two days bound the walk.
    for _ in 0..=2 * 24 * 60 {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(a, b) => {
                return a.with_timezone(&Utc).min(b.with_timezone(&Utc));
            }
            LocalResult::None => local += Duration::minutes(1),
        }
    }
    // Unreachable with any real zone: read the time as UTC.
    wanted.and_utc()
}

/// The first run strictly after `after`: the next instant at which the clock
/// of `tz` shows `at`, by the rules of [`run_instant`].
pub fn next_run<Tz: TimeZone>(tz: &Tz, at: DailyAt, after: DateTime<Utc>) -> DateTime<Utc> {
    let today = after.with_timezone(tz).date_naive();
    // From the day before: a gap can push a day's run into the next day.
    let mut date = today.pred_opt().unwrap_or(today);
    for _ in 0..8 {
        let t = run_instant(tz, date, at);
        if t > after {
            return t;
        }
        match date.succ_opt() {
            Some(d) => date = d,
            None => break,
        }
    }
    // Unreachable with any real zone (each day has its run).
    after + Duration::days(1)
}

/// What the scheduler does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Run the cleanup now: its time has come (or passed while asleep).
    Run,
    /// Nothing to do yet: look at the clock again after this long.
    Wait(std::time::Duration),
}

/// The `--daily-at` loop without its side effects: [`Schedule::step`] says
/// whether to run or to wait, [`Schedule::ran`] takes the end of a run.
#[derive(Debug, Clone)]
pub struct Schedule<Tz: TimeZone> {
    tz: Tz,
    at: DailyAt,
    due: DateTime<Utc>,
}

/// Past this distance, a due run means the clock was set back: reschedule.
/// (The next run is normally at most a day and a DST shift away; a skipped
/// day such as Apia's in 2011 makes it two.)
const MAX_AHEAD: Duration = Duration::hours(50);

impl<Tz: TimeZone> Schedule<Tz> {
    /// The first run is the next `at` after `now`: starting the scheduler
    /// never runs the cleanup at once.
    pub fn new(tz: Tz, at: DailyAt, now: DateTime<Utc>) -> Self {
        let due = next_run(&tz, at, now);
        Schedule { tz, at, due }
    }

    /// When the next run is due.
    pub fn due(&self) -> DateTime<Utc> {
        self.due
    }

    pub fn at(&self) -> DailyAt {
        self.at
    }

    pub fn tz(&self) -> &Tz {
        &self.tz
    }

    /// `Run` once `now` has reached the due time, however late; otherwise
    /// `Wait`, at most `max_nap` at a time so that a suspend or a change of
    /// the clock is noticed within `max_nap`. If the clock went back so far
    /// that the due run is more than two days off, the run is rescheduled
    /// from the new clock.
    pub fn step(&mut self, now: DateTime<Utc>, max_nap: std::time::Duration) -> Step {
        if self.due - now > MAX_AHEAD {
            self.due = next_run(&self.tz, self.at, now);
        }
        if now >= self.due {
            return Step::Run;
        }
        let left = (self.due - now).to_std().unwrap_or_default();
        Step::Wait(left.min(max_nap))
    }

    /// A run ended (well or not) at `now`: the next one is the first `at`
    /// after `now`. Returns how many run times passed, besides the one just
    /// served, without a run of their own (missed days), for the log.
    pub fn ran(&mut self, now: DateTime<Utc>) -> u32 {
        let mut missed = 0;
        let mut t = next_run(&self.tz, self.at, self.due);
        while t <= now && missed < 100_000 {
            missed += 1;
            t = next_run(&self.tz, self.at, t);
        }
        self.due = next_run(&self.tz, self.at, now);
        missed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, NaiveDateTime};
    use chrono_tz::Tz;
    use std::time::Duration as Std;

    fn at(s: &str) -> DailyAt {
        s.parse().unwrap()
    }

    /// An instant, written as the UTC time `YYYY-MM-DD HH:MM:SS`.
    fn utc(s: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
            .unwrap()
            .and_utc()
    }

    /// An instant, written as a wall-clock time of `tz` that exists once.
    fn local<Z: TimeZone>(tz: &Z, s: &str) -> DateTime<Utc> {
        let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        match tz.from_local_datetime(&naive) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            _ => panic!("{s} is not a unique local time"),
        }
    }

    const NY: Tz = chrono_tz::America::New_York;
    const LONDON: Tz = chrono_tz::Europe::London;
    const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;

    #[test]
    fn parses_hh_mm_only() {
        assert_eq!(at("02:00"), DailyAt::new(2, 0).unwrap());
        assert_eq!(at("2:00"), DailyAt::new(2, 0).unwrap());
        assert_eq!(at("00:00"), DailyAt::new(0, 0).unwrap());
        assert_eq!(at("23:59"), DailyAt::new(23, 59).unwrap());
        assert_eq!(at("08:09").to_string(), "08:09");
        assert_eq!(at("7:05").to_string(), "07:05");
        for bad in [
            "", "24:00", "12:60", "2:5", "123:00", "02:00:00", "0200", "abc", " 02:00", "02:00 ",
            "+2:00", "-1:00", "02:-1", "２:00", "02:0a", ":", "02:", ":00", "off",
        ] {
            let e = bad.parse::<DailyAt>().expect_err(bad);
            assert!(e.contains("HH:MM"), "{bad}: {e}");
        }
    }

    #[test]
    fn utc_same_day_next_day_and_exactly_now() {
        let tz = Utc;
        let two = at("02:00");
        let cases = [
            ("2026-05-10 01:00:00", "2026-05-10 02:00:00"),
            ("2026-05-10 01:59:59", "2026-05-10 02:00:00"),
            // Exactly at HH:MM: that run is the one starting; the next is tomorrow's.
            ("2026-05-10 02:00:00", "2026-05-11 02:00:00"),
            ("2026-05-10 02:00:01", "2026-05-11 02:00:00"),
            ("2026-05-10 12:34:56", "2026-05-11 02:00:00"),
            ("2026-05-10 23:59:59", "2026-05-11 02:00:00"),
            ("2026-05-10 00:00:00", "2026-05-10 02:00:00"),
            // Across a month, a year and a leap day.
            ("2026-05-31 03:00:00", "2026-06-01 02:00:00"),
            ("2026-12-31 02:30:00", "2027-01-01 02:00:00"),
            ("2028-02-28 02:00:00", "2028-02-29 02:00:00"),
        ];
        for (now, want) in cases {
            assert_eq!(next_run(&tz, two, utc(now)), utc(want), "from {now}");
        }
        let just_before = utc("2026-05-10 02:00:00") - Duration::nanoseconds(1);
        assert_eq!(next_run(&tz, two, just_before), utc("2026-05-10 02:00:00"));
        let just_after = utc("2026-05-10 02:00:00") + Duration::nanoseconds(1);
        assert_eq!(next_run(&tz, two, just_after), utc("2026-05-11 02:00:00"));
    }

    #[test]
    fn midnight() {
        let tz = Utc;
        let m = at("00:00");
        assert_eq!(
            next_run(&tz, m, utc("2026-05-10 23:59:00")),
            utc("2026-05-11 00:00:00")
        );
        assert_eq!(
            next_run(&tz, m, utc("2026-05-11 00:00:00")),
            utc("2026-05-12 00:00:00")
        );
        assert_eq!(
            next_run(&tz, at("23:59"), utc("2026-05-10 23:59:30")),
            utc("2026-05-11 23:59:00")
        );
        // Midnight in New York on the spring-forward day (the jump is at 02:00).
        let t = next_run(&NY, m, local(&NY, "2026-03-07 23:00:00"));
        assert_eq!(t, local(&NY, "2026-03-08 00:00:00"));
    }

    #[test]
    fn zones_without_dst() {
        // Asia/Shanghai is UTC+8 all year: 02:00 there is 18:00 UTC the day before.
        let two = at("02:00");
        assert_eq!(
            next_run(&SHANGHAI, two, utc("2026-01-01 17:00:00")),
            utc("2026-01-01 18:00:00")
        );
        // 04:00 on 2 January in Shanghai, still 1 January in UTC: next is the 3rd, local.
        assert_eq!(
            next_run(&SHANGHAI, two, utc("2026-01-01 20:00:00")),
            utc("2026-01-02 18:00:00")
        );
        assert_eq!(
            next_run(&SHANGHAI, two, utc("2026-01-01 18:00:00")),
            utc("2026-01-02 18:00:00")
        );
        // A fixed offset behaves the same (what TZ=<+08>-8 gives).
        let plus8 = FixedOffset::east_opt(8 * 3600).unwrap();
        for now in [
            "2026-01-01 17:00:00",
            "2026-01-01 20:00:00",
            "2026-07-01 00:00:00",
        ] {
            assert_eq!(
                next_run(&plus8, two, utc(now)),
                next_run(&SHANGHAI, two, utc(now))
            );
        }
        // Asia/Kolkata, a half-hour offset (+05:30).
        let kolkata = chrono_tz::Asia::Kolkata;
        assert_eq!(
            next_run(&kolkata, two, utc("2026-01-01 00:00:00")),
            utc("2026-01-01 20:30:00")
        );
    }

    #[test]
    fn zones_with_dst_on_ordinary_days() {
        let two = at("02:00");
        // New York: 02:00 EST is 07:00 UTC in winter, 02:00 EDT 06:00 UTC in summer.
        assert_eq!(
            next_run(&NY, two, utc("2026-01-15 12:00:00")),
            utc("2026-01-16 07:00:00")
        );
        assert_eq!(
            next_run(&NY, two, utc("2026-07-15 12:00:00")),
            utc("2026-07-16 06:00:00")
        );
        // 03:00 UTC is still the evening before in New York: the run is that night.
        assert_eq!(
            next_run(&NY, two, utc("2026-07-15 03:00:00")),
            utc("2026-07-15 06:00:00")
        );
        // London: GMT in winter, BST (UTC+1) in summer.
        assert_eq!(
            next_run(&LONDON, two, utc("2026-01-15 12:00:00")),
            utc("2026-01-16 02:00:00")
        );
        assert_eq!(
            next_run(&LONDON, two, utc("2026-07-15 12:00:00")),
            utc("2026-07-16 01:00:00")
        );
    }

    #[test]
    fn spring_forward_gap_runs_at_the_first_valid_minute() {
        // New York, 8 March 2026: 02:00 EST (07:00 UTC) jumps to 03:00 EDT.
        let before = local(&NY, "2026-03-08 00:30:00");
        let jump = utc("2026-03-08 07:00:00");
        for t in ["02:00", "02:01", "02:30", "02:59"] {
            assert_eq!(next_run(&NY, at(t), before), jump, "{t}");
        }
        // The instant shows 03:00 EDT on the clock.
        assert_eq!(
            jump.with_timezone(&NY).format("%H:%M %Z").to_string(),
            "03:00 EDT"
        );
        // 03:00 itself runs then too: one run that night, not two.
        assert_eq!(next_run(&NY, at("03:00"), before), jump);
        // The day after, 02:30 exists again: 02:30 EDT, 06:30 UTC.
        assert_eq!(next_run(&NY, at("02:30"), jump), utc("2026-03-09 06:30:00"));
        // Times outside the gap keep their meaning that day.
        assert_eq!(
            next_run(&NY, at("01:59"), before),
            utc("2026-03-08 06:59:00")
        );
        assert_eq!(
            next_run(&NY, at("03:01"), before),
            utc("2026-03-08 07:01:00")
        );

        // London, 29 March 2026: 01:00 GMT jumps to 02:00 BST (at 01:00 UTC).
        let before = utc("2026-03-28 23:00:00");
        assert_eq!(
            next_run(&LONDON, at("01:30"), before),
            utc("2026-03-29 01:00:00")
        );
        assert_eq!(
            next_run(&LONDON, at("01:00"), before),
            utc("2026-03-29 01:00:00")
        );
        assert_eq!(
            next_run(&LONDON, at("02:00"), before),
            utc("2026-03-29 01:00:00")
        );
        assert_eq!(
            next_run(&LONDON, at("02:01"), before),
            utc("2026-03-29 01:01:00")
        );
        assert_eq!(
            next_run(&LONDON, at("01:30"), utc("2026-03-29 01:00:00")),
            utc("2026-03-30 00:30:00")
        );
    }

    #[test]
    fn fall_back_overlap_runs_once() {
        // New York, 1 November 2026: 02:00 EDT (06:00 UTC) goes back to 01:00 EST,
        // so 01:30 is shown at 05:30 UTC (EDT) and again at 06:30 UTC (EST).
        let half_past_one = at("01:30");
        let first = utc("2026-11-01 05:30:00");
        assert_eq!(
            next_run(&NY, half_past_one, utc("2026-11-01 04:00:00")),
            first
        );
        // After that run, not again at the second 01:30: the next is the 2nd.
        let next_day = utc("2026-11-02 06:30:00");
        assert_eq!(next_run(&NY, half_past_one, first), next_day);
        assert_eq!(
            next_run(&NY, half_past_one, first + Duration::minutes(5)),
            next_day
        );
        // Even from inside the repeated hour, before the clock shows 01:30 again.
        assert_eq!(
            next_run(&NY, half_past_one, utc("2026-11-01 06:10:00")),
            next_day
        );
        // Driven by the scheduler through the night: exactly one run.
        let runs = simulate(
            NY,
            half_past_one,
            utc("2026-11-01 03:00:00"),
            utc("2026-11-02 03:00:00"),
            60,
        );
        assert_eq!(runs, vec![first]);

        // London, 25 October 2026: 02:00 BST (01:00 UTC) goes back to 01:00 GMT.
        let first = utc("2026-10-25 00:30:00");
        assert_eq!(
            next_run(&LONDON, half_past_one, utc("2026-10-24 22:00:00")),
            first
        );
        assert_eq!(
            next_run(&LONDON, half_past_one, first),
            utc("2026-10-26 01:30:00")
        );
        // 02:00 is not repeated (01:00 to 01:59 is): one run, at 02:00 GMT.
        assert_eq!(
            next_run(&LONDON, at("02:00"), utc("2026-10-24 22:00:00")),
            utc("2026-10-25 02:00:00")
        );
    }

    #[test]
    fn a_skipped_day_runs_once_after_it() {
        // Pacific/Apia skipped 30 December 2011: 29 Dec 23:59:59 -10 was
        // followed by 31 Dec 00:00:00 +14. The 30th's run happens at the jump.
        let apia = chrono_tz::Pacific::Apia;
        let jump = utc("2011-12-30 10:00:00");
        assert_eq!(
            next_run(&apia, at("02:00"), utc("2011-12-29 13:00:00")),
            jump
        );
        assert_eq!(
            next_run(&apia, at("02:00"), jump),
            utc("2011-12-30 12:00:00")
        );
        // Midnight of the 31st is the jump itself: one run for both days.
        assert_eq!(
            next_run(&apia, at("00:00"), utc("2011-12-29 13:00:00")),
            jump
        );
        assert_eq!(
            next_run(&apia, at("00:00"), jump),
            utc("2011-12-31 10:00:00")
        );
    }

    /// Drives a [`Schedule`] with a simulated clock from `from` to `to`,
    /// each run lasting `run_secs`; returns when each run started.
    fn simulate<Z: TimeZone>(
        tz: Z,
        at: DailyAt,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        run_secs: i64,
    ) -> Vec<DateTime<Utc>> {
        let mut s = Schedule::new(tz, at, from);
        let mut now = from;
        let mut runs = Vec::new();
        while now < to {
            match s.step(now, Std::from_secs(60)) {
                Step::Run => {
                    runs.push(now);
                    now += Duration::seconds(run_secs);
                    s.ran(now);
                }
                Step::Wait(d) => {
                    assert!(d > Std::ZERO && d <= Std::from_secs(60), "{d:?}");
                    now += Duration::from_std(d).unwrap();
                }
            }
        }
        runs
    }

    #[test]
    fn one_run_a_day_at_the_time() {
        let runs = simulate(
            LONDON,
            at("02:00"),
            utc("2026-03-25 12:00:00"),
            utc("2026-04-02 12:00:00"),
            5,
        );
        let want: Vec<_> = [
            "2026-03-26 02:00:00",
            "2026-03-27 02:00:00",
            "2026-03-28 02:00:00",
            "2026-03-29 01:00:00", // 02:00 BST, the first minute after the jump
            "2026-03-30 01:00:00",
            "2026-03-31 01:00:00",
            "2026-04-01 01:00:00",
            "2026-04-02 01:00:00",
        ]
        .into_iter()
        .map(utc)
        .collect();
        assert_eq!(runs, want);
        // Starting exactly at the time does not run at once.
        let runs = simulate(
            Utc,
            at("02:00"),
            utc("2026-05-10 02:00:00"),
            utc("2026-05-11 01:00:00"),
            5,
        );
        assert!(runs.is_empty(), "{runs:?}");
    }

    #[test]
    fn the_wait_is_capped_and_ends_at_the_due_time() {
        let mut s = Schedule::new(Utc, at("02:00"), utc("2026-05-10 01:00:00"));
        assert_eq!(s.due(), utc("2026-05-10 02:00:00"));
        assert_eq!(
            s.step(utc("2026-05-10 01:00:00"), Std::from_secs(60)),
            Step::Wait(Std::from_secs(60))
        );
        assert_eq!(
            s.step(utc("2026-05-10 01:59:30"), Std::from_secs(60)),
            Step::Wait(Std::from_secs(30))
        );
        let almost = utc("2026-05-10 02:00:00") - Duration::milliseconds(250);
        assert_eq!(
            s.step(almost, Std::from_secs(60)),
            Step::Wait(Std::from_millis(250))
        );
        assert_eq!(
            s.step(utc("2026-05-10 02:00:00"), Std::from_secs(60)),
            Step::Run
        );
        assert_eq!(s.ran(utc("2026-05-10 02:00:07")), 0);
        assert_eq!(s.due(), utc("2026-05-11 02:00:00"));
    }

    #[test]
    fn missed_days_give_one_catch_up_run_not_a_burst() {
        // Suspended from before the 10th's run until the 13th at 09:00.
        let mut s = Schedule::new(Utc, at("02:00"), utc("2026-05-09 23:00:00"));
        let wake = utc("2026-05-13 09:00:00");
        assert_eq!(s.step(wake, Std::from_secs(60)), Step::Run);
        // The run takes a minute; the 11th, 12th and 13th were missed besides the 10th.
        assert_eq!(s.ran(wake + Duration::minutes(1)), 3);
        assert_eq!(s.due(), utc("2026-05-14 02:00:00"));
        assert!(matches!(
            s.step(wake + Duration::minutes(1), Std::from_secs(60)),
            Step::Wait(_)
        ));

        // The same through the simulated clock: a three-day sleep, one run on waking.
        let mut s = Schedule::new(Utc, at("02:00"), utc("2026-05-09 23:00:00"));
        let mut runs = Vec::new();
        let mut now = wake;
        while now < utc("2026-05-15 12:00:00") {
            match s.step(now, Std::from_secs(3600)) {
                Step::Run => {
                    runs.push(now);
                    now += Duration::seconds(30);
                    s.ran(now);
                }
                Step::Wait(d) => now += Duration::from_std(d).unwrap(),
            }
        }
        assert_eq!(
            runs,
            vec![wake, utc("2026-05-14 02:00:00"), utc("2026-05-15 02:00:00")]
        );
    }

    #[test]
    fn a_run_longer_than_a_day_skips_the_time_it_overlapped() {
        // 02:00 on the 10th, and it lasts 25 hours: the 11th's 02:00 passed during it.
        let runs = simulate(
            Utc,
            at("02:00"),
            utc("2026-05-10 01:00:00"),
            utc("2026-05-12 12:00:00"),
            25 * 3600,
        );
        assert_eq!(
            runs,
            vec![utc("2026-05-10 02:00:00"), utc("2026-05-12 02:00:00")]
        );
        let mut s = Schedule::new(Utc, at("02:00"), utc("2026-05-10 01:00:00"));
        assert_eq!(s.ran(utc("2026-05-11 03:00:00")), 1);
        assert_eq!(s.due(), utc("2026-05-12 02:00:00"));
    }

    #[test]
    fn a_woken_scheduler_just_before_the_time_runs_once_late_and_once_on_time() {
        // Woke at 01:59 on the 13th after missing the 12th: the catch-up run
        // serves the 12th; the 13th's own run follows at 02:00.
        let mut s = Schedule::new(Utc, at("02:00"), utc("2026-05-11 03:00:00"));
        let wake = utc("2026-05-13 01:59:00");
        assert_eq!(s.step(wake, Std::from_secs(60)), Step::Run);
        assert_eq!(s.ran(wake + Duration::seconds(5)), 0);
        assert_eq!(s.due(), utc("2026-05-13 02:00:00"));
    }

    #[test]
    fn a_clock_set_back_far_reschedules() {
        let mut s = Schedule::new(Utc, at("02:00"), utc("2026-05-10 03:00:00"));
        assert_eq!(s.due(), utc("2026-05-11 02:00:00"));
        // Set back an hour: keep waiting for the same run.
        assert!(matches!(
            s.step(utc("2026-05-10 02:00:00"), Std::from_secs(60)),
            Step::Wait(_)
        ));
        assert_eq!(s.due(), utc("2026-05-11 02:00:00"));
        // Set back a week: the next run is the next 02:00 of the new clock.
        assert!(matches!(
            s.step(utc("2026-05-03 12:00:00"), Std::from_secs(60)),
            Step::Wait(_)
        ));
        assert_eq!(s.due(), utc("2026-05-04 02:00:00"));
    }

    #[test]
    fn every_zone_and_time_gives_a_run_within_two_days() {
        // A sweep: for each zone, a year of days from a few hours, the next
        // run is later, at most ~2 days off, and on the clock shows the time
        // (or, in a gap, the first minute after it).
        for tz in [
            NY,
            LONDON,
            SHANGHAI,
            chrono_tz::Australia::Lord_Howe,
            chrono_tz::Europe::Berlin,
        ] {
            for time in ["00:00", "01:30", "02:00", "02:30", "03:00", "23:59"] {
                let a = at(time);
                let mut now = utc("2026-01-01 00:00:00");
                while now < utc("2027-01-01 00:00:00") {
                    let t = next_run(&tz, a, now);
                    assert!(
                        t > now && t - now <= Duration::hours(26),
                        "{tz} {time} from {now}: {t}"
                    );
                    let shown = t.with_timezone(&tz).time();
                    let gap = tz
                        .from_local_datetime(&t.with_timezone(&tz).date_naive().and_time(a.time()));
                    if !matches!(gap, LocalResult::None) {
                        assert_eq!(shown, a.time(), "{tz} {time} from {now}: {t}");
                    } else {
                        assert!(shown > a.time(), "{tz} {time} from {now}: {t}");
                    }
                    now += Duration::hours(7);
                }
            }
        }
    }
}
