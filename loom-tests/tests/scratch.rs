#![cfg(loom)]
use ephemeral::loom_api::Slab;
use ephemeral::{Options, State, Window};
use loom::sync::Arc;
use loom::thread;
use std::time::Duration;

#[test]
fn a() {
    let n = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n2 = n.clone();
    loom::model(move || {
        n2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let slab = Arc::new(Slab::<u32, u32>::new(2));
        let id = slab.insert(1, Duration::ZERO).unwrap();
        let s = slab.clone();
        let t = thread::spawn(move || {
            let (c, _) = s.claim(id).unwrap();
            s.mark_running(c, Duration::ZERO);
        });
        let r = slab.begin_finish(id).is_ok();
        t.join().unwrap();
        let _ = r;
    });
    println!(
        "slab iterations {}",
        n.load(std::sync::atomic::Ordering::SeqCst)
    );
}
#[test]
fn b() {
    let n = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n2 = n.clone();
    loom::model(move || {
        n2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let options = Options::default()
            .queue_capacity(1)
            .max_concurrency(2)
            .max_tracked(1)
            .pin_budget(0);
        let w = Arc::new(Window::<u32, u32>::new(&options).unwrap());
        let id = w.insert(1, Duration::ZERO).unwrap();
        let s = w.clone();
        let t = thread::spawn(move || {
            s.start(id, Duration::ZERO).unwrap();
        });
        let r = w.finish(id, State::Completed, 5, Duration::ZERO).is_ok();
        t.join().unwrap();
        let _ = r;
    });
    println!(
        "window iterations {}",
        n.load(std::sync::atomic::Ordering::SeqCst)
    );
}
#[test]
fn c() {
    let n = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n2 = n.clone();
    loom::model(move || {
        n2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let a = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
        let b = a.clone();
        let t = thread::spawn(move || {
            b.store(1, loom::sync::atomic::Ordering::Release);
        });
        let _ = a.load(loom::sync::atomic::Ordering::Acquire);
        t.join().unwrap();
    });
    println!(
        "plain iterations {}",
        n.load(std::sync::atomic::Ordering::SeqCst)
    );
}
#[test]
fn d() {
    let n = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n2 = n.clone();
    loom::model(move || {
        n2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let slab = Arc::new(Slab::<u32, u32>::new(2));
        let id = slab.insert(1, Duration::ZERO).unwrap();
        let s = slab.clone();
        let t = thread::spawn(move || {
            let (c, _) = s.claim(id).unwrap();
            s.mark_running(c, Duration::ZERO);
        });
        let _ = slab.word_at(0);
        let r = slab.begin_finish(id).is_ok();
        t.join().unwrap();
        let _ = r;
    });
    println!(
        "slab2 iterations {}",
        n.load(std::sync::atomic::Ordering::SeqCst)
    );
}
