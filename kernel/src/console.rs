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

struct Console {
    framed: bool,
    input: VecDeque<u8>,
    eof: bool,
    escape: bool,
}

static CONSOLE: Mutex<Console> = Mutex::new(Console {
    framed: false,
    input: VecDeque::new(),
    eof: false,
    escape: false,
});

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

/// Pull waiting bytes from the UART into the input buffer, decoding the framed escapes.
fn poll_input(c: &mut Console) {
    while let Some(b) = serial::try_read() {
        if c.framed {
            if c.escape {
                c.escape = false;
                match b {
                    0xff => c.input.push_back(0xff),
                    0x01 => c.eof = true,
                    _ => {}
                }
            } else if b == 0xff {
                c.escape = true;
            } else {
                c.input.push_back(b);
            }
        } else if b == 0x04 {
            c.eof = true;
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
