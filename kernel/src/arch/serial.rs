//! The 16550 UART at COM1 (0x3f8): the console. QEMU needs no initialisation for output.

use super::cpu::{inb, outb};

const COM1: u16 = 0x3f8;

/// Set up COM1: 8N1, FIFOs on, interrupts off.
pub fn init() {
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x80);
    outb(COM1, 0x01);
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);
    outb(COM1 + 2, 0xC7);
    outb(COM1 + 4, 0x03);
}

/// Raise an interrupt when a byte arrives (IER bit 0; OUT2 gates the IRQ line on PC hardware).
pub fn enable_rx_interrupt() {
    outb(COM1 + 4, 0x0b);
    outb(COM1 + 1, 0x01);
}

/// Send bytes, waiting for the transmitter when it is full.
pub fn write(bytes: &[u8]) {
    for &b in bytes {
        while inb(COM1 + 5) & 0x20 == 0 {
            core::hint::spin_loop();
        }
        outb(COM1, b);
    }
}

/// Wait until every byte written has left the transmitter (LSR.TEMT), before the machine stops.
pub fn flush() {
    let mut spins = 0u32;
    while inb(COM1 + 5) & 0x40 == 0 && spins < 10_000_000 {
        core::hint::spin_loop();
        spins += 1;
    }
}

/// A received byte, if one is waiting.
pub fn try_read() -> Option<u8> {
    if inb(COM1 + 5) & 1 != 0 {
        Some(inb(COM1))
    } else {
        None
    }
}
