//! The console, in the plain or the framed protocol of docs/PROTOCOL.md: on COM1, or on a
//! virtio-serial port once `start_virtio` has found one (COM1 stays the fallback: output before the
//! device is up, and whatever the kernel has to say while the device is busy, such as a panic inside
//! the device's code).

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use core::sync::atomic::{AtomicBool, Ordering};
use spin::Mutex;

use crate::arch::serial;
use crate::arch::virtio_console::{self, VirtioConsole};

/// The virtio-serial console, once started.
static VCON: Mutex<Option<Box<VirtioConsole>>> = Mutex::new(None);
/// Whether COM1 has had the framed protocol's marker.
static UART_MARKER: AtomicBool = AtomicBool::new(false);
const MARKER: &[u8] = b"\0NUTSHL\n";

/// Find a virtio-serial device among the command line's virtio-mmio tokens or on PCI and move the
/// console to it.
pub fn start_virtio(cmdline: &[u8]) {
    let cmd = kernel_core::cmdline::Cmdline::parse(cmdline);
    let Some(dev) = virtio_console::start(&cmd.devices) else {
        return;
    };
    dev.route_irq();
    let framed = CONSOLE.lock().framed;
    let mut g = VCON.lock();
    let dev = g.insert(dev);
    if framed {
        dev.write(MARKER);
        dev.flush();
    }
}

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

/// The interrupt handler of COM1 and of the virtio-serial device: take what arrived. Returns whether
/// the virtio-serial device had raised an interrupt.
pub fn on_interrupt() -> bool {
    match CONSOLE.try_lock() {
        Some(mut c) => poll_input(&mut c),
        None => VCON
            .try_lock()
            .is_some_and(|mut g| g.as_mut().is_some_and(|d| d.ack_interrupt())),
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
    if let Some(mut g) = VCON.try_lock() {
        if let Some(d) = g.as_mut() {
            d.write(MARKER);
            d.flush();
            return;
        }
    }
    UART_MARKER.store(true, Ordering::Relaxed);
    serial::write(MARKER);
}

/// Where console bytes go.
trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

struct Uart;

impl Sink for Uart {
    fn put(&mut self, bytes: &[u8]) {
        serial::write(bytes);
    }
}

impl Sink for VirtioConsole {
    fn put(&mut self, bytes: &[u8]) {
        self.write(bytes);
    }
}

/// Send bytes on a channel: through the virtio-serial port (all of a call in as few buffers as
/// possible) when it is up and free, else through COM1.
pub fn write(ch: Channel, data: &[u8]) {
    let framed = CONSOLE.lock().framed;
    if let Some(mut g) = VCON.try_lock() {
        if let Some(d) = g.as_mut() {
            encode(&mut **d, framed, ch, data);
            d.flush();
            return;
        }
    }
    if framed && !UART_MARKER.swap(true, Ordering::Relaxed) {
        serial::write(MARKER);
    }
    encode(&mut Uart, framed, ch, data);
}

fn encode(sink: &mut dyn Sink, framed: bool, ch: Channel, data: &[u8]) {
    if !framed {
        match ch {
            Channel::Stdout | Channel::Stderr => sink.put(data),
            Channel::Log | Channel::Trace => {
                sink.put(data);
                sink.put(b"\n");
            }
            Channel::Exit => {}
        }
        return;
    }
    for chunk in data.chunks(4096) {
        let len = chunk.len() as u16;
        sink.put(&[ch as u8, len as u8, (len >> 8) as u8]);
        sink.put(chunk);
    }
}

/// Pull waiting bytes from the UART and the virtio-serial port into the input buffer, decoding the
/// framed escapes (`FF FF` byte FF, `FF 01` end of file, `FF 02 N` signal N). Returns whether the
/// virtio-serial device had raised an interrupt.
fn poll_input(c: &mut Console) -> bool {
    let mut any = false;
    while let Some(b) = serial::try_read() {
        any = true;
        decode(c, b);
    }
    let mut irq = false;
    if let Some(mut g) = VCON.try_lock() {
        if let Some(d) = g.as_mut() {
            irq = d.ack_interrupt();
            d.take_input(|bytes| {
                any |= !bytes.is_empty();
                for &b in bytes {
                    decode(c, b);
                }
            });
        }
    }
    if any {
        INPUT_EVENTS.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    }
    if c.signals != 0 {
        PENDING_SIGNALS.store(1, core::sync::atomic::Ordering::Relaxed);
    }
    irq
}

fn decode(c: &mut Console, b: u8) {
    {
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
