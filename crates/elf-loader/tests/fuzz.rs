//! Property test: `parse` never panics, whatever is done to a valid image, and whatever it
//! accepts satisfies the plan's invariants. Deterministic (xorshift), no extra dependencies.

mod common;

use common::*;
use elf_loader::{parse, LoadPlan, PAGE_SIZE, USER_ADDR_LIMIT};

/// Interesting values to write into fields.
const SPECIAL: [u64; 12] = [
    0,
    1,
    2,
    0x38,
    0x40,
    0xfff,
    0x1000,
    0x7fff_ffff_f000,
    0x8000_0000_0000,
    u32::MAX as u64,
    u64::MAX - 1,
    u64::MAX,
];

fn mutate(rng: &mut Rng, image: &mut Vec<u8>) {
    // Most mutations hit the headers, where the parser looks.
    let hot = (64 + 6 * 56).min(image.len()).max(1);
    let at = |rng: &mut Rng, len: usize| {
        if rng.below(4) == 0 {
            rng.below(len)
        } else {
            rng.below(hot)
        }
    };
    let choice = if image.is_empty() { 5 } else { rng.below(6) };
    match choice {
        0 => {
            let i = at(rng, image.len());
            image[i] ^= 1 << rng.below(8);
        }
        1 => {
            let i = at(rng, image.len());
            image[i] = rng.next() as u8;
        }
        2 => {
            // An 8-byte field (or the tail of one) set to a special or random value.
            let i = at(rng, image.len()) & !7;
            let v = if rng.below(2) == 0 {
                SPECIAL[rng.below(SPECIAL.len())]
            } else {
                rng.next()
            };
            let end = (i + 8).min(image.len());
            image[i..end].copy_from_slice(&v.to_le_bytes()[..end - i]);
        }
        3 => {
            // A 2-byte field: e_type, e_machine, e_phentsize, e_phnum are 16-bit.
            let i = at(rng, image.len()) & !1;
            let v = rng.next() as u16 & [0xffff, 0xff, 0x7][rng.below(3)];
            let end = (i + 2).min(image.len());
            image[i..end].copy_from_slice(&v.to_le_bytes()[..end - i]);
        }
        4 => {
            let len = rng.below(image.len() + 1);
            image.truncate(len);
        }
        _ => {
            let extra = rng.below(64);
            image.extend((0..extra).map(|_| rng.next() as u8));
        }
    }
}

fn check_invariants(plan: &LoadPlan, image: &[u8]) {
    assert!(!plan.segments.is_empty());
    assert!(plan
        .segments
        .iter()
        .any(|s| s.flags.exec && s.vaddr <= plan.entry && plan.entry < s.end()));
    for s in &plan.segments {
        assert!(s.filesz <= s.memsz);
        assert!(s.end() <= USER_ADDR_LIMIT);
        assert!(s.filesz == 0 || s.file_bytes(image).is_some());
        assert!(plan.min_vaddr <= s.vaddr && s.end() <= plan.max_vaddr);
    }
    for w in plan.segments.windows(2) {
        assert!(w[0].vaddr <= w[1].vaddr);
    }
    assert_eq!(plan.min_vaddr % PAGE_SIZE, 0);
    assert_eq!(plan.max_vaddr % PAGE_SIZE, 0);
    if let Some(tls) = plan.tls {
        assert!(tls.filesz <= tls.memsz);
        assert!(tls.filesz == 0 || tls.file_bytes(image).is_some());
    }
    if let Some(interp) = &plan.interp {
        assert!(!interp.is_empty() && !interp.contains('\0') && interp.len() < 4096);
    }
}

#[test]
fn mutations_never_panic() {
    let seeds = [static_pie(), exec(), dyn_interp()];
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut accepted, mut rejected) = (0, 0);
    let mut kinds = std::collections::HashSet::new();
    for round in 0..30_000 {
        let mut image = seeds[round % seeds.len()].bytes();
        for _ in 0..1 + rng.below(4) {
            mutate(&mut rng, &mut image);
        }
        // A panic here fails the test with the round number in the backtrace's context.
        match parse(&image) {
            Ok(plan) => {
                check_invariants(&plan, &image);
                accepted += 1;
            }
            Err(e) => {
                assert!(!e.to_string().is_empty());
                kinds.insert(std::mem::discriminant(&e));
                rejected += 1;
            }
        }
    }
    println!(
        "{accepted} accepted, {rejected} rejected with {} different errors",
        kinds.len()
    );
    assert!(
        kinds.len() >= 20,
        "mutations reach only {} error kinds",
        kinds.len()
    );
    // Both outcomes must be well represented, or the mutations are too weak or too strong.
    assert!(
        accepted > 1000 && rejected > 1000,
        "{accepted} accepted, {rejected} rejected"
    );
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    for _ in 0..5_000 {
        let len = rng.below(600);
        let mut image: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Give most of them a valid identification so the parser gets further.
        if len >= 7 && rng.below(4) != 0 {
            image[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
        }
        if len >= 20 && rng.below(2) == 0 {
            image[18] = 62;
            image[19] = 0;
        }
        let _ = parse(&image);
    }
}
