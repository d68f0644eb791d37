//! A dynamically linked Rust program (rustc's default: libc.so.6 and libgcc_s.so.1 through
//! ld.so): collections, formatting, threads, and a panic caught by unwinding.
use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc;
use std::thread;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("args: {args:?}");

    let text = "one two three two three three";
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for word in text.split_whitespace() {
        *counts.entry(word).or_default() += 1;
    }
    let sorted: BTreeMap<_, _> = counts.into_iter().collect();
    println!("counts: {sorted:?}");

    let (tx, rx) = mpsc::channel();
    let workers: Vec<_> = (0..4u64)
        .map(|i| {
            let tx = tx.clone();
            thread::spawn(move || {
                let sum: u64 = (i * 1000..(i + 1) * 1000).sum();
                tx.send((i, sum)).expect("send");
            })
        })
        .collect();
    drop(tx);
    for w in workers {
        w.join().expect("join");
    }
    let mut sums: Vec<(u64, u64)> = rx.iter().collect();
    sums.sort();
    println!("sums: {sums:?}");

    std::panic::set_hook(Box::new(|_| {}));
    let caught = std::panic::catch_unwind(|| {
        let v: Vec<i32> = Vec::new();
        v[3]
    });
    println!("panic caught: {}", caught.is_err());
    println!("{:>8.3}|{:<6}|{:#x}", std::f64::consts::PI, "rust", 255);
    println!("rust dynamic ok");
}
