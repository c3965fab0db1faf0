//! IMPLEMENTATION.md C9 for the foundation: after construction,
//! insert/start/finish/evict cycles allocate nothing. A counting global allocator sees
//! every allocation in this test binary.

use core::time::Duration;

use ephemeral::{Options, State, Window};

mod counting;

#[test]
fn insert_start_finish_evict_cycles_allocate_nothing_after_construction() {
    let options = Options::default()
        .max_tracked(64)
        .pin_budget(4)
        .max_operation_lifetime(Duration::from_millis(500));
    let window: Window<[u64; 4], Result<u64, &'static str>> = Window::new(&options).unwrap();
    let cycle = |n: u64| {
        let at = Duration::from_micros(n);
        let id = window.insert([n; 4], at).unwrap();
        let input = window.start(id, at).unwrap();
        let (state, outcome) = if n.is_multiple_of(7) {
            (State::Faulted, Err("seven"))
        } else {
            (State::Completed, Ok(input[0]))
        };
        window.finish(id, state, outcome, at).unwrap();
        if n.is_multiple_of(5) {
            let _ = window.evict(id);
        }
        if n.is_multiple_of(11) {
            let _ = window.pin(id);
        }
        if n.is_multiple_of(13) {
            let _ = window.unpin(id);
        }
        if n.is_multiple_of(17) {
            let _ = window.get(id, at);
        }
        id
    };
    // Warm-up: fill the window and the pins once.
    for n in 0..1_000 {
        cycle(n);
    }
    let mut visited = 0;
    // Count eviction, age eviction (micros advance past 500 ms), pins and reads.
    let allocated = counting::allocations_during(|| {
        for n in 1_000..1_000_000 {
            cycle(n);
        }
        window.visit(Duration::from_secs(1), |_| visited += 1);
    });
    assert_eq!(allocated, 0, "allocations during 999,000 cycles");
    assert!(visited > 0);
}
