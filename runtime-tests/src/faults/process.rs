//! What the suite installs process-wide: a panic hook that tells injected panics from
//! the library's own (and keeps the first of those, with its location), and a watchdog
//! for a case stuck in a synchronous call.

use core::fmt::Write as _;
use core::time::Duration;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use super::case::{Case, PanicMode};
use super::invariant::Invariant;
use super::log::Log;
use super::plan::{fired, injected};

// Panics that are not injected faults: counted and kept (the first one) by the hook,
// reported by the case that saw them. Fixed-size storage, so the hook never allocates
// between a case's heap measurements.
static LIBRARY_PANICS: AtomicUsize = AtomicUsize::new(0);
static LIBRARY_PANIC: Mutex<([u8; 512], usize)> = Mutex::new(([0; 512], 0));

/// Installs the hook: injected panics are silent; any other is counted, its first
/// message kept for [`library_panics_report`], and (on the main thread) printed.
pub fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info.payload_as_str().unwrap_or("<not a string>");
        if injected(text).is_some() {
            return;
        }
        if LIBRARY_PANICS.fetch_add(1, SeqCst) == 0 {
            let mut first = LIBRARY_PANIC.lock().unwrap_or_else(PoisonError::into_inner);
            let mut buffer = Fixed(&mut first.0, 0);
            let _ = write!(buffer, "{text}");
            if let Some(at) = info.location() {
                let _ = write!(buffer, " at {at}");
            }
            first.1 = buffer.1;
        }
        if std::thread::current().name() == Some("main") {
            default(info);
        }
    }));
}

/// Writes into a fixed buffer, cutting what does not fit.
struct Fixed<'a>(&'a mut [u8; 512], usize);

impl core::fmt::Write for Fixed<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let mut end = s.len().min(self.0.len() - self.1);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.0[self.1..self.1 + end].copy_from_slice(&s.as_bytes()[..end]);
        self.1 += end;
        Ok(())
    }
}

/// Forgets the panics seen so far (at the start of a case).
pub fn library_panics_reset() {
    LIBRARY_PANICS.store(0, SeqCst);
    LIBRARY_PANIC
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .1 = 0;
}

/// Reports the panics seen since the reset, if any, into `log`.
pub fn library_panics_report(log: &Log) {
    let n = LIBRARY_PANICS.load(SeqCst);
    if n > 0 {
        let first = LIBRARY_PANIC.lock().unwrap_or_else(PoisonError::into_inner);
        let text = core::str::from_utf8(&first.0[..first.1]).unwrap_or("<cut>");
        log.fail(
            Invariant::LibraryDoesNotPanic,
            format_args!("{n} panic(s) that are not injected faults, the first: {text}"),
        );
    }
}

// The watchdog: a case stuck in a synchronous call (a drop that blocks, a spin lock
// that never opens) cannot time itself out, so another thread names it and exits.
static WATCHED: Mutex<Option<(Instant, u64, &'static str, PanicMode)>> = Mutex::new(None);

/// Tells the watchdog which case runs now (seed, executor, panic mode), or none.
pub fn watch(case: Option<(u64, &'static str, PanicMode)>) {
    *WATCHED.lock().unwrap_or_else(PoisonError::into_inner) =
        case.map(|(seed, executor, mode)| (Instant::now(), seed, executor, mode));
}

/// Starts the watchdog: a case that runs longer than `limit` is printed and the
/// process exits with status 2.
pub fn start_watchdog(limit: Duration) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let watched = *WATCHED.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((since, seed, executor, mode)) = watched
                && since.elapsed() > limit
            {
                println!(
                    "\nHUNG: case seed {seed:#018x} on {executor} ran over {limit:?} \
                         (a synchronous call never returned); rerun: FAULT_SEED={seed:#x} \
                         FAULT_EXECUTOR={executor} cargo test -p runtime-tests --test faults\n  faults fired: {}\n{}",
                    fired(),
                    Case::generate(seed, mode)
                );
                std::process::exit(2);
            }
        }
    });
}
