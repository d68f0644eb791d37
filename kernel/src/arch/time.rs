//! Time: the TSC calibrated against the PIT, and the wall clock read once from the CMOS RTC.

use super::cpu::{inb, outb, rdtsc};

/// Measure TSC ticks per microsecond against PIT channel 0 (5 ms). `None` when there is no PIT.
/// Channel 0 is used because its gate is always on: microvm has no port 0x61 to gate channel 2.
pub fn calibrate_tsc() -> Option<u64> {
    const TICKS: u32 = 5966; // 5 ms of the 1.193182 MHz PIT clock
                             // Channel 0, lobyte/hibyte, mode 2 (rate generator), reload 65536.
    outb(0x43, 0x34);
    outb(0x40, 0);
    outb(0x40, 0);
    let read = || {
        outb(0x43, 0x00); // latch channel 0
        let lo = inb(0x40);
        let hi = inb(0x40);
        u16::from_le_bytes([lo, hi])
    };
    let mut last = read();
    let start = rdtsc();
    let mut elapsed: u32 = 0;
    let mut same: u32 = 0;
    while elapsed < TICKS {
        let now = read();
        if now == last {
            same += 1;
            // A counter that never moves means there is no PIT.
            if same > 1_000_000 {
                return None;
            }
            continue;
        }
        same = 0;
        elapsed += u32::from(last.wrapping_sub(now));
        last = now;
    }
    let ticks = rdtsc() - start;
    // ticks per microsecond = ticks / (elapsed / 1.193182)
    let per_us = ticks * 1_193_182 / (u64::from(elapsed) * 1_000_000);
    (per_us > 0).then_some(per_us)
}

fn cmos(reg: u8) -> u8 {
    outb(0x70, reg);
    inb(0x71)
}

/// Seconds since the Unix epoch from the RTC (UTC, as QEMU provides by default).
pub fn rtc_unix_seconds() -> u64 {
    // Wait for no update in progress, then read until two reads agree.
    let read = || {
        let mut spins = 0;
        while cmos(0x0a) & 0x80 != 0 && spins < 1_000_000 {
            spins += 1;
        }
        [
            cmos(0x00),
            cmos(0x02),
            cmos(0x04),
            cmos(0x07),
            cmos(0x08),
            cmos(0x09),
            cmos(0x32),
        ]
    };
    let mut v = read();
    loop {
        let w = read();
        if w == v {
            break;
        }
        v = w;
    }
    let status_b = cmos(0x0b);
    let bcd = |x: u8| {
        if status_b & 0x04 == 0 {
            (x & 0x0f) + (x >> 4) * 10
        } else {
            x
        }
    };
    let sec = u64::from(bcd(v[0]));
    let min = u64::from(bcd(v[1]));
    let hour_raw = v[2];
    let mut hour = u64::from(bcd(hour_raw & 0x7f));
    if status_b & 0x02 == 0 && hour_raw & 0x80 != 0 {
        hour = (hour % 12) + 12;
    }
    let day = u64::from(bcd(v[3]));
    let month = u64::from(bcd(v[4]));
    let century = match bcd(v[6]) {
        c @ 19..=21 => u64::from(c),
        _ => 20,
    };
    let year = century * 100 + u64::from(bcd(v[5]));
    days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y } as i64;
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468).max(0) as u64
}
