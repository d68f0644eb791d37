//! The console on COM1, in the plain or the framed protocol of docs/PROTOCOL.md.

use alloc::collections::VecDeque;
use spin::Mutex;

use crate::arch::serial;

/// Channels of the framed protocol.
#[derive(Clone, Copy)]
pub enum Channel {
    Stdout = 1,
    Stderr = 2,
    Log = 3,
    Trace = 4,
    Exit = 5,
}

/// Where the framed input decoder is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Escape {
    None,
    /// After FF.
    Started,
    /// After FF 02: the next byte is a signal number.
    Signal,
}

struct Console {
    framed: bool,
    input: VecDeque<u8>,
    eof: bool,
    escape: Escape,
    /// Signals the user sent (Ctrl-C, kill of nutshell): bit n-1 for signal n.
    signals: u64,
}

static CONSOLE: Mutex<Console> = Mutex::new(Console {
    framed: false,
    input: VecDeque::new(),
    eof: false,
    escape: Escape::None,
    signals: 0,
});

/// Counts arrivals of input (and signals): waiting threads compare it to know when to look again.
pub static INPUT_EVENTS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// The interrupt handler of COM1: take what arrived.
pub fn on_interrupt() {
    if let Some(mut c) = CONSOLE.try_lock() {
        poll_input(&mut c);
    }
}

/// Signals sent by the user since the last call (bit n-1 for signal n). Cheap: input is taken by the
/// UART interrupt, this only looks at what it found.
pub fn take_signals() -> u64 {
    if PENDING_SIGNALS.load(core::sync::atomic::Ordering::Relaxed) == 0 {
        return 0;
    }
    let mut c = CONSOLE.lock();
    PENDING_SIGNALS.store(0, core::sync::atomic::Ordering::Relaxed);
    core::mem::take(&mut c.signals)
}

/// Non-zero when `Console::signals` may hold something.
static PENDING_SIGNALS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Switch to the framed protocol and send the start marker.
pub fn set_framed() {
    CONSOLE.lock().framed = true;
    serial::write(b"\0NUTSHL\n");
}

/// Send bytes on a channel.
pub fn write(ch: Channel, data: &[u8]) {
    let framed = CONSOLE.lock().framed;
    if !framed {
        match ch {
            Channel::Stdout | Channel::Stderr => serial::write(data),
            Channel::Log | Channel::Trace => {
                serial::write(data);
                serial::write(b"\n");
            }
            Channel::Exit => {}
        }
        return;
    }
    if data.is_empty() {
        return;
    }
    for chunk in data.chunks(4096) {
        let len = chunk.len() as u16;
        serial::write(&[ch as u8, len as u8, (len >> 8) as u8]);
        serial::write(chunk);
    }
}

/// Pull waiting bytes from the UART into the input buffer, decoding the framed escapes
/// (`FF FF` byte FF, `FF 01` end of file, `FF 02 N` signal N).
fn poll_input(c: &mut Console) {
    let mut any = false;
    while let Some(b) = serial::try_read() {
        any = true;
        if c.framed {
            match c.escape {
                Escape::Started => {
                    c.escape = Escape::None;
                    match b {
                        0xff => c.input.push_back(0xff),
                        0x01 => c.eof = true,
                        0x02 => c.escape = Escape::Signal,
                        _ => {}
                    }
                }
                Escape::Signal => {
                    c.escape = Escape::None;
                    if (1..=64).contains(&b) {
                        c.signals |= 1 << (b - 1);
                    }
                }
                Escape::None if b == 0xff => c.escape = Escape::Started,
                Escape::None => c.input.push_back(b),
            }
        } else if b == 0x04 {
            c.eof = true;
        } else if b == 0x03 {
            // Ctrl-C on the serial console of the classic path: SIGINT, as a terminal would.
            c.signals |= 1 << 1;
        } else {
            c.input.push_back(if b == b'\r' { b'\n' } else { b });
        }
    }
    if any {
        INPUT_EVENTS.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    }
    if c.signals != 0 {
        PENDING_SIGNALS.store(1, core::sync::atomic::Ordering::Relaxed);
    }
}

/// Whether a read would not block.
pub fn input_ready() -> bool {
    let mut c = CONSOLE.lock();
    poll_input(&mut c);
    !c.input.is_empty() || c.eof
}

/// Read input, blocking until at least one byte or end of file (0).
pub fn read(buf: &mut [u8]) -> usize {
    loop {
        {
            let mut c = CONSOLE.lock();
            poll_input(&mut c);
            if !c.input.is_empty() {
                let n = buf.len().min(c.input.len());
                for (i, b) in c.input.drain(..n).enumerate() {
                    buf[i] = b;
                }
                return n;
            }
            if c.eof {
                // End of file is reported once per read, like a terminal's ^D; it stays for a pipe.
                if !c.framed {
                    c.eof = false;
                }
                return 0;
            }
        }
        // Nothing yet: idle 1 ms (the UART is polled; its interrupt is not wired up yet).
        crate::platform::idle_for(1_000_000);
    }
}
