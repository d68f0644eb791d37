//! The framed console protocol on COM1 (docs/PROTOCOL.md, "Console").
//!
//! Guest → host: the marker `\0NUTSHL\n` (anything before it is firmware noise and is
//! discarded), then frames `[tag: u8][len: u16 LE][len bytes]`. [`Decoder`] is a push parser:
//! feed it whatever each `read` returned, however the stream was split, and it reports
//! [`Event`]s. Program output (tags 1 and 2) is reported as soon as bytes arrive, in pieces;
//! log lines, strace lines and the exit record (tags 3, 4, 5) once complete.
//!
//! Host → guest: stdin bytes with `0xFF` escaped as `FF FF`, `FF 01` for end of file and
//! `FF 02 N` for signal N ([`escape_stdin`], [`STDIN_EOF`], [`signal_input`]).

/// The 8 bytes the kernel sends before its first frame.
pub const MARKER: &[u8; 8] = b"\0NUTSHL\n";
/// Host → guest: end of standard input.
pub const STDIN_EOF: [u8; 2] = [0xFF, 0x01];
/// Host → guest: signal N for the program.
pub fn signal_input(signal: u8) -> [u8; 3] {
    [0xFF, 0x02, signal]
}
/// How many bytes from before the marker are kept for diagnostics.
const PREAMBLE_KEEP: usize = 4096;

/// Frame tags.
mod tag {
    pub const STDOUT: u8 = 1;
    pub const STDERR: u8 = 2;
    pub const LOG: u8 = 3;
    pub const TRACE: u8 = 4;
    pub const EXIT: u8 = 5;
}

/// What the guest said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// Program stdout bytes (possibly part of a frame).
    Stdout(&'a [u8]),
    /// Program stderr bytes (possibly part of a frame).
    Stderr(&'a [u8]),
    /// One kernel log line, without newline.
    Log(&'a [u8]),
    /// One strace line, without newline.
    Trace(&'a [u8]),
    /// The exit record: the status `nutshell run` exits with.
    Exit(u8),
    /// An exit record that is not `exit N` with N in 0..=255.
    BadExit(&'a [u8]),
    /// A frame with a tag this version does not know (skipped).
    Unknown {
        /// The tag.
        tag: u8,
        /// The payload.
        payload: &'a [u8],
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Looking for the marker; the number of marker bytes matched so far.
    Marker(usize),
    /// Reading a frame header; the number of header bytes read so far.
    Header(usize),
    /// Reading a payload; the number of bytes still to come.
    Payload(usize),
}

/// Push parser of the guest → host stream.
#[derive(Debug)]
pub struct Decoder {
    state: State,
    header: [u8; 3],
    /// The payload of a tag 3/4/5 (or unknown) frame being collected.
    buffer: Vec<u8>,
    /// The last bytes seen before the marker (for error messages).
    preamble: Vec<u8>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder waiting for the marker.
    pub fn new() -> Self {
        Decoder {
            state: State::Marker(0),
            header: [0; 3],
            buffer: Vec::new(),
            preamble: Vec::new(),
        }
    }

    /// Whether the marker has been seen.
    pub fn synced(&self) -> bool {
        !matches!(self.state, State::Marker(_))
    }

    /// The last bytes (up to 4 KiB) received before the marker, or all bytes received so far
    /// when there was no marker: what the guest printed outside the protocol.
    pub fn preamble(&self) -> &[u8] {
        &self.preamble
    }

    /// Whether a frame was cut short (the stream ended inside a header or payload).
    pub fn in_frame(&self) -> bool {
        matches!(self.state, State::Header(1..) | State::Payload(_))
    }

    /// Consume `data`, calling `emit` for each event, in stream order.
    pub fn feed(&mut self, mut data: &[u8], emit: &mut dyn FnMut(Event<'_>)) {
        while !data.is_empty() {
            match self.state {
                State::Marker(matched) => {
                    let byte = data[0];
                    data = &data[1..];
                    self.keep_preamble(byte);
                    self.state = if byte == MARKER[matched] {
                        if matched + 1 == MARKER.len() {
                            // The marker itself is not noise.
                            let noise = self.preamble.len().saturating_sub(MARKER.len());
                            self.preamble.truncate(noise);
                            State::Header(0)
                        } else {
                            State::Marker(matched + 1)
                        }
                    } else if byte == MARKER[0] {
                        // MARKER[0] (NUL) occurs nowhere else in the marker: restart at 1.
                        State::Marker(1)
                    } else {
                        State::Marker(0)
                    };
                }
                State::Header(have) => {
                    let take = (3 - have).min(data.len());
                    self.header[have..have + take].copy_from_slice(&data[..take]);
                    data = &data[take..];
                    if have + take < 3 {
                        self.state = State::Header(have + take);
                        continue;
                    }
                    let len = usize::from(u16::from_le_bytes([self.header[1], self.header[2]]));
                    self.buffer.clear();
                    self.state = State::Payload(len);
                    if len == 0 {
                        self.end_frame(emit);
                    }
                }
                State::Payload(remaining) => {
                    let take = remaining.min(data.len());
                    let (chunk, rest) = data.split_at(take);
                    data = rest;
                    match self.header[0] {
                        tag::STDOUT => emit(Event::Stdout(chunk)),
                        tag::STDERR => emit(Event::Stderr(chunk)),
                        _ => self.buffer.extend_from_slice(chunk),
                    }
                    self.state = State::Payload(remaining - take);
                    if remaining == take {
                        self.end_frame(emit);
                    }
                }
            }
        }
    }

    fn end_frame(&mut self, emit: &mut dyn FnMut(Event<'_>)) {
        let payload = self.buffer.as_slice();
        match self.header[0] {
            tag::STDOUT | tag::STDERR => {}
            tag::LOG => emit(Event::Log(payload)),
            tag::TRACE => emit(Event::Trace(payload)),
            tag::EXIT => emit(parse_exit(payload).map_or(Event::BadExit(payload), Event::Exit)),
            tag => emit(Event::Unknown { tag, payload }),
        }
        self.state = State::Header(0);
    }

    fn keep_preamble(&mut self, byte: u8) {
        if self.preamble.len() == PREAMBLE_KEEP {
            self.preamble.drain(..PREAMBLE_KEEP / 2);
        }
        self.preamble.push(byte);
    }
}

/// `exit N` → N.
fn parse_exit(payload: &[u8]) -> Option<u8> {
    let digits = payload.strip_prefix(b"exit ")?;
    if digits.is_empty() || digits.len() > 3 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Append `data` to `out` with every `0xFF` doubled.
pub fn escape_stdin(data: &[u8], out: &mut Vec<u8>) {
    for &byte in data {
        out.push(byte);
        if byte == 0xFF {
            out.push(0xFF);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything a decoder reported, with adjacent stdout/stderr pieces merged.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct Seen {
        stdout: Vec<u8>,
        stderr: Vec<u8>,
        /// Non-output events, as owned text, in order.
        events: Vec<String>,
    }

    fn record(seen: &mut Seen, event: Event<'_>) {
        match event {
            Event::Stdout(b) => seen.stdout.extend_from_slice(b),
            Event::Stderr(b) => seen.stderr.extend_from_slice(b),
            Event::Log(l) => seen
                .events
                .push(format!("log {}", String::from_utf8_lossy(l))),
            Event::Trace(l) => seen
                .events
                .push(format!("trace {}", String::from_utf8_lossy(l))),
            Event::Exit(n) => seen.events.push(format!("exit {n}")),
            Event::BadExit(p) => seen.events.push(format!("bad {p:?}")),
            Event::Unknown { tag, payload } => seen.events.push(format!("tag{tag} {payload:?}")),
        }
    }

    fn frame(tag: u8, payload: &[u8]) -> Vec<u8> {
        let len = u16::try_from(payload.len()).expect("short payload");
        let mut f = vec![tag];
        f.extend_from_slice(&len.to_le_bytes());
        f.extend_from_slice(payload);
        f
    }

    fn stream() -> Vec<u8> {
        let mut s = b"SeaBIOS (version 1.16)\r\n\0NUTSH\0\0NUTSHL".to_vec(); // false starts
        s.extend_from_slice(MARKER);
        s.extend(frame(1, b"hello "));
        s.extend(frame(3, b"nutshell: a log line"));
        s.extend(frame(2, b"oops\n"));
        s.extend(frame(1, b""));
        s.extend(frame(4, b"write(1, \"x\", 1) = 1"));
        s.extend(frame(9, b"future"));
        s.extend(frame(1, &[0xFF; 5000]));
        s.extend(frame(1, b"world\n"));
        s.extend(frame(5, b"exit 42"));
        s
    }

    fn expected() -> Seen {
        let mut stdout = b"hello ".to_vec();
        stdout.extend_from_slice(&[0xFF; 5000]);
        stdout.extend_from_slice(b"world\n");
        Seen {
            stdout,
            stderr: b"oops\n".to_vec(),
            events: vec![
                "log nutshell: a log line".into(),
                "trace write(1, \"x\", 1) = 1".into(),
                "tag9 [102, 117, 116, 117, 114, 101]".into(),
                "exit 42".into(),
            ],
        }
    }

    fn decode_in_pieces(data: &[u8], sizes: impl Fn(usize) -> usize) -> (Seen, Decoder) {
        let mut decoder = Decoder::new();
        let mut seen = Seen::default();
        let mut at = 0;
        let mut i = 0;
        while at < data.len() {
            let end = (at + sizes(i).max(1)).min(data.len());
            decoder.feed(&data[at..end], &mut |e| record(&mut seen, e));
            at = end;
            i += 1;
        }
        (seen, decoder)
    }

    #[test]
    fn whole_stream_at_once() {
        let (seen, decoder) = decode_in_pieces(&stream(), |_| usize::MAX);
        assert_eq!(seen, expected());
        assert!(decoder.synced());
        assert!(!decoder.in_frame());
        assert_eq!(
            decoder.preamble(),
            b"SeaBIOS (version 1.16)\r\n\0NUTSH\0\0NUTSHL"
        );
    }

    #[test]
    fn every_split_gives_the_same_result() {
        let data = stream();
        for size in [1, 2, 3, 7, 8, 9, 64, 4095, 4096, 4097] {
            let (seen, _) = decode_in_pieces(&data, |_| size);
            assert_eq!(seen, expected(), "pieces of {size}");
        }
        // Two pieces, cut at every position.
        for cut in 0..data.len() {
            let mut decoder = Decoder::new();
            let mut seen = Seen::default();
            decoder.feed(&data[..cut], &mut |e| record(&mut seen, e));
            decoder.feed(&data[cut..], &mut |e| record(&mut seen, e));
            assert_eq!(seen, expected(), "cut at {cut}");
        }
        // Irregular pieces.
        let (seen, _) = decode_in_pieces(&data, |i| (i * 7919) % 13);
        assert_eq!(seen, expected());
    }

    #[test]
    fn output_is_reported_before_the_frame_ends() {
        let mut decoder = Decoder::new();
        let mut pieces = Vec::new();
        let mut data = MARKER.to_vec();
        data.extend(&frame(1, b"abcdef")[..5]);
        decoder.feed(&data, &mut |e| {
            if let Event::Stdout(b) = e {
                pieces.push(b.to_vec())
            }
        });
        assert_eq!(pieces, [b"ab".to_vec()]);
        assert!(decoder.in_frame());
    }

    #[test]
    fn nothing_before_the_marker_is_output() {
        let mut decoder = Decoder::new();
        let mut events = 0;
        let noise = b"nutshell: hello from the kernel\n\x01\x05\x00exit 1";
        decoder.feed(noise, &mut |_| events += 1);
        assert_eq!(events, 0);
        assert!(!decoder.synced());
        assert_eq!(decoder.preamble(), noise);
    }

    #[test]
    fn preamble_is_bounded() {
        let mut decoder = Decoder::new();
        decoder.feed(&vec![b'x'; 100_000], &mut |_| {});
        assert!(decoder.preamble().len() <= PREAMBLE_KEEP);
    }

    #[test]
    fn exit_records() {
        assert_eq!(parse_exit(b"exit 0"), Some(0));
        assert_eq!(parse_exit(b"exit 255"), Some(255));
        assert_eq!(parse_exit(b"exit 007"), Some(7));
        assert_eq!(parse_exit(b"exit 256"), None);
        assert_eq!(parse_exit(b"exit -1"), None);
        assert_eq!(parse_exit(b"exit "), None);
        assert_eq!(parse_exit(b"exit 1 "), None);
        assert_eq!(parse_exit(b"exit 1000"), None);
        assert_eq!(parse_exit(b"quit 1"), None);
        let mut decoder = Decoder::new();
        let mut data = MARKER.to_vec();
        data.extend(frame(5, b"exit x"));
        let mut seen = Seen::default();
        decoder.feed(&data, &mut |e| record(&mut seen, e));
        assert_eq!(seen.events, ["bad [101, 120, 105, 116, 32, 120]"]);
    }

    #[test]
    fn stdin_escaping() {
        let mut out = Vec::new();
        escape_stdin(b"a\xffb\xff\xff\x01", &mut out);
        assert_eq!(out, b"a\xff\xffb\xff\xff\xff\xff\x01");
        out.extend_from_slice(&STDIN_EOF);
        // Unescape as the kernel does: FF FF -> FF, FF 01 -> end of file.
        let mut data = Vec::new();
        let mut eof = false;
        let mut bytes = out.iter().copied();
        while let Some(b) = bytes.next() {
            if b == 0xFF {
                match bytes.next() {
                    Some(0xFF) => data.push(0xFF),
                    Some(0x01) => {
                        eof = true;
                        break;
                    }
                    other => panic!("bad escape {other:?}"),
                }
            } else {
                data.push(b);
            }
        }
        assert!(eof);
        assert_eq!(data, b"a\xffb\xff\xff\x01");
        let mut empty = Vec::new();
        escape_stdin(b"", &mut empty);
        assert!(empty.is_empty());
    }
}
