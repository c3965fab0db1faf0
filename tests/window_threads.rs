//! The window under real threads: finishers, pinners and readers at once. loom checks
//! the protocols exhaustively on tiny models; this checks them at scale.

use core::time::Duration;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;

use ephemeral::{InsertError, Label, Options, State, Window};

#[test]
fn concurrent_finishers_readers_and_pinners_never_see_mixed_or_excess_operations() {
    fn label_of(value: u64) -> Label {
        use core::fmt::Write;
        let mut label = Label::EMPTY;
        let _ = write!(label, "op {value:x}");
        label
    }
    let options = Options::default()
        .queue_capacity(8)
        .max_concurrency(4)
        .max_tracked(16)
        .pin_budget(4)
        .max_operation_lifetime(Duration::from_millis(50));
    let window: Arc<Window<u64, u64>> = Arc::new(Window::new(&options).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let clock = Arc::new(AtomicU64::new(0));

    let workers: Vec<_> = (0..3u64)
        .map(|t| {
            let (window, clock) = (window.clone(), clock.clone());
            thread::spawn(move || {
                for n in 0..20_000u64 {
                    let value = (t << 32) | n;
                    let at = Duration::from_micros(clock.fetch_add(1, Ordering::Relaxed));
                    let id = match window.insert_labelled(value, label_of(value), at) {
                        Ok(id) => id,
                        Err(InsertError::Full(_)) => continue,
                    };
                    // Enqueue time encodes the value, so readers can check a snapshot
                    // describes one operation.
                    let input = window.start(id, at).unwrap();
                    assert_eq!(input, value);
                    let state = if n % 3 == 0 {
                        State::Faulted
                    } else {
                        State::Completed
                    };
                    window.finish(id, state, value, at).unwrap();
                    if n % 10 == 0 {
                        let _ = window.pin(id);
                    }
                    if n % 10 == 5 {
                        let _ = window.unpin(id);
                    }
                }
            })
        })
        .collect();

    let reader = {
        let (window, stop, clock) = (window.clone(), stop.clone(), clock.clone());
        thread::spawn(move || {
            let mut reads = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let now = Duration::from_micros(clock.load(Ordering::Relaxed));
                let mut finished = 0;
                let mut pinned = 0;
                window.visit(now, |s| {
                    if s.state.is_finished() {
                        finished += 1;
                        pinned += usize::from(s.pinned);
                        let outcome = s.outcome.expect("a finished snapshot without its outcome");
                        assert_eq!(
                            s.label,
                            label_of(*outcome),
                            "a snapshot mixing one operation's label with another's outcome"
                        );
                    }
                });
                assert!(
                    finished <= 16 + pinned,
                    "{finished} finished with {pinned} pinned"
                );
                assert!(pinned <= 4);
                reads += 1;
            }
            reads
        })
    };

    for w in workers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);

    // Quiescent: unpin and expire everything; every slot must come back.
    let late = Duration::from_secs(3600);
    for s in window.snapshot(late) {
        window.unpin(s.id).unwrap();
    }
    window.expire(late);
    assert!(window.snapshot(late).is_empty());
    assert_eq!(window.pinned_count(), 0);
    let ids: Vec<_> = (0..window.capacity())
        .map(|n| window.insert(n as u64, late).unwrap())
        .collect();
    assert_eq!(ids.len(), window.capacity());
    assert!(window.insert(0, late).is_err());
}
