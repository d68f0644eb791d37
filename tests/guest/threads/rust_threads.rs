//! std::thread, std::sync::mpsc and Mutex: workers send results over a
//! channel, a shared Mutex<u64> counter, scoped threads, a Condvar handshake,
//! thread names, join values and a panic caught at join.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

fn main() {
    // Workers compute sums and send them over a channel.
    let (tx, rx) = mpsc::channel();
    let counter = Arc::new(Mutex::new(0u64));
    let mut handles = Vec::new();
    for id in 0..8u64 {
        let tx = tx.clone();
        let counter = Arc::clone(&counter);
        handles.push(
            thread::Builder::new()
                .name(format!("worker-{id}"))
                .spawn(move || {
                    let sum: u64 = (id * 1000..(id + 1) * 1000).sum();
                    for _ in 0..10_000 {
                        *counter.lock().unwrap() += 1;
                    }
                    tx.send((id, sum)).unwrap();
                    thread::current().name().unwrap().to_string()
                })
                .unwrap(),
        );
    }
    drop(tx);
    let mut results: Vec<(u64, u64)> = rx.iter().collect();
    results.sort();
    for (id, sum) in &results {
        println!("worker {id}: sum {sum}");
    }
    let names: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    println!("names: {}", names.join(" "));
    println!("counter: {}", *counter.lock().unwrap());

    // A sync_channel with a bound of 1: a pipeline of 3 stages.
    let (a_tx, a_rx) = mpsc::sync_channel::<u64>(1);
    let (b_tx, b_rx) = mpsc::sync_channel::<u64>(1);
    let stage = thread::spawn(move || {
        for v in a_rx {
            b_tx.send(v * v).unwrap();
        }
    });
    let producer = thread::spawn(move || {
        for v in 1..=100 {
            a_tx.send(v).unwrap();
        }
    });
    let total: u64 = b_rx.iter().sum();
    producer.join().unwrap();
    stage.join().unwrap();
    println!("sum of squares 1..=100 through a pipeline: {total}");

    // Scoped threads borrowing a local vector.
    let data: Vec<u64> = (1..=1000).collect();
    let visited = AtomicUsize::new(0);
    let partial: Vec<u64> = thread::scope(|s| {
        let hs: Vec<_> = data
            .chunks(250)
            .map(|chunk| {
                let visited = &visited;
                s.spawn(move || {
                    visited.fetch_add(chunk.len(), Ordering::Relaxed);
                    chunk.iter().sum::<u64>()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    println!("scoped partial sums: {partial:?}, visited {}", visited.load(Ordering::Relaxed));

    // Condvar handshake with a sleeping thread.
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let pair2 = Arc::clone(&pair);
    let start = Instant::now();
    let notifier = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        *pair2.0.lock().unwrap() = true;
        pair2.1.notify_one();
    });
    let mut ready = pair.0.lock().unwrap();
    while !*ready {
        ready = pair.1.wait(ready).unwrap();
    }
    drop(ready);
    notifier.join().unwrap();
    println!(
        "condvar: woken after >= 50 ms: {}",
        if start.elapsed() >= Duration::from_millis(50) { "yes" } else { "no" }
    );

    // A panicking thread: join returns the error, the process goes on.
    std::panic::set_hook(Box::new(|_| {}));
    let r = thread::spawn(|| -> u32 { panic!("on purpose") }).join();
    let message = r
        .err()
        .and_then(|e| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    println!("panicked thread joined with: {message}");
    println!("rust threads ok");
}
