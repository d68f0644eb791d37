//! The kernel command line nutshell passes with QEMU's `-append` (docs/PROTOCOL.md):
//! `OPTION... -- PATH ARG...`.
//!
//! Quoting rule: every token is written in single quotes, a `'` inside as `'\''` (close the
//! quote, an escaped quote, reopen), except the separator `--`, which is written bare. Tokens
//! are separated by one space. The kernel splits the line like a POSIX shell word list without
//! expansions, so each token comes back byte for byte, spaces, quotes, backslashes, newlines
//! and non-UTF-8 bytes included.

use crate::cli::{EnvVar, LogLevel};

/// What goes on the kernel command line.
#[derive(Debug, Clone, Default)]
pub struct KernelCmdline<'a> {
    /// `tty=DIGITS`: which of the program's fds 0, 1, 2 are terminals on the host.
    pub tty: [bool; 3],
    /// `winsize=ROWSxCOLS`: the host terminal's size, when there is one.
    pub winsize: Option<(u16, u16)>,
    /// `strace`: trace system calls.
    pub strace: bool,
    /// `strace-summary`: the table of calls, errors and time at exit.
    pub strace_summary: bool,
    /// `strict`: end the program at the first unimplemented system call.
    pub strict: bool,
    /// `log=LEVEL`.
    pub log: Option<LogLevel>,
    /// `load_base=0xADDR`: where a PIE program is loaded (for gdb); random when absent.
    pub load_base: Option<u64>,
    /// `workdir=DIR`: the program's working directory.
    pub workdir: Option<&'a str>,
    /// `volume=TAG:GUESTDIR[:ro]`, in order.
    pub volumes: Vec<String>,
    /// `net=...`: the network configuration (`none`, `dhcp`, `IP/PREFIX[,GATEWAY]`); the kernel's
    /// default (QEMU user networking's addresses) when absent.
    pub net: Option<&'a str>,
    /// `net6=...`: the IPv6 configuration, when the kernel's default does not apply.
    pub net6: Option<&'a str>,
    /// `env=K=V`, in order.
    pub env: &'a [EnvVar],
    /// `argv0=STRING`: the program's argv[0] (PROGRAM as the user typed it).
    pub argv0: &'a [u8],
    /// The path of the program in the initrd, e.g. `/hello`.
    pub path: &'a [u8],
    /// The program's arguments, argv[1..].
    pub args: Vec<&'a [u8]>,
}

impl KernelCmdline<'_> {
    /// The whole line, quoted.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut tokens: Vec<Vec<u8>> = vec![b"console=framed".to_vec()];
        let digits: String = (0..3)
            .filter(|&fd| self.tty[fd])
            .map(|fd| char::from(b'0' + fd as u8))
            .collect();
        tokens.push(format!("tty={digits}").into_bytes());
        if let Some((rows, cols)) = self.winsize {
            tokens.push(format!("winsize={rows}x{cols}").into_bytes());
        }
        if self.strace {
            tokens.push(b"strace".to_vec());
        }
        if self.strace_summary {
            tokens.push(b"strace-summary".to_vec());
        }
        if self.strict {
            tokens.push(b"strict".to_vec());
        }
        if let Some(level) = self.log {
            tokens.push(format!("log={}", level.name()).into_bytes());
        }
        if let Some(base) = self.load_base {
            tokens.push(format!("load_base={base:#x}").into_bytes());
        }
        if let Some(dir) = self.workdir {
            tokens.push(format!("workdir={dir}").into_bytes());
        }
        for volume in &self.volumes {
            tokens.push(format!("volume={volume}").into_bytes());
        }
        if let Some(net) = self.net {
            tokens.push(format!("net={net}").into_bytes());
        }
        if let Some(net6) = self.net6 {
            tokens.push(format!("net6={net6}").into_bytes());
        }
        for var in self.env {
            tokens.push(format!("env={}={}", var.key, var.value).into_bytes());
        }
        tokens.push([b"argv0=", self.argv0].concat());

        let mut line = Vec::new();
        for token in &tokens {
            push_quoted(&mut line, token);
            line.push(b' ');
        }
        line.extend_from_slice(b"--");
        for word in std::iter::once(self.path).chain(self.args.iter().copied()) {
            line.push(b' ');
            push_quoted(&mut line, word);
        }
        line
    }
}

/// Append `word` in single quotes to `out`, a `'` inside as `'\''`.
pub fn push_quoted(out: &mut Vec<u8>, word: &[u8]) {
    out.push(b'\'');
    for &byte in word {
        if byte == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(byte);
        }
    }
    out.push(b'\'');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reference tokenizer following docs/PROTOCOL.md, written from the POSIX shell rules
    /// independently of the kernel's: unquoted spaces (and tabs, newlines) separate words;
    /// '...' keeps everything literally; "..." keeps everything but lets a backslash escape
    /// the next character; an unquoted backslash escapes the next character; adjacent parts
    /// form one word; quotes make a word even when empty.
    fn tokenize(line: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
        #[derive(PartialEq)]
        enum Mode {
            Plain,
            Single,
            Double,
        }
        let mut words = Vec::new();
        let mut word: Option<Vec<u8>> = None;
        let mut mode = Mode::Plain;
        let mut bytes = line.iter().copied();
        while let Some(b) = bytes.next() {
            match mode {
                Mode::Single if b == b'\'' => mode = Mode::Plain,
                Mode::Single => word.get_or_insert_with(Vec::new).push(b),
                Mode::Double if b == b'"' => mode = Mode::Plain,
                Mode::Double if b == b'\\' => {
                    let next = bytes.next().ok_or("backslash at end")?;
                    word.get_or_insert_with(Vec::new).push(next);
                }
                Mode::Double => word.get_or_insert_with(Vec::new).push(b),
                Mode::Plain => match b {
                    b' ' | b'\t' | b'\n' => words.extend(word.take()),
                    b'\'' => {
                        word.get_or_insert_with(Vec::new);
                        mode = Mode::Single;
                    }
                    b'"' => {
                        word.get_or_insert_with(Vec::new);
                        mode = Mode::Double;
                    }
                    b'\\' => {
                        let next = bytes.next().ok_or("backslash at end")?;
                        word.get_or_insert_with(Vec::new).push(next);
                    }
                    _ => word.get_or_insert_with(Vec::new).push(b),
                },
            }
        }
        if mode != Mode::Plain {
            return Err("unterminated quote");
        }
        words.extend(word);
        Ok(words)
    }

    #[test]
    fn reference_tokenizer_follows_the_shell() {
        let words = tokenize(br#"a  'b c' "d \"e\"" f\ g 'it'\''s' '' x"y"'z'"#).expect("ok");
        let expected: [&[u8]; 7] = [b"a", b"b c", b"d \"e\"", b"f g", b"it's", b"", b"xyz"];
        assert_eq!(words, expected);
    }

    fn roundtrip(word: &[u8]) {
        let mut line = Vec::new();
        push_quoted(&mut line, word);
        assert_eq!(tokenize(&line), Ok(vec![word.to_vec()]), "{line:?}");
    }

    #[test]
    fn quoting_round_trips() {
        let nasty: &[&[u8]] = &[
            b"",
            b"plain",
            b"two words",
            b"'",
            b"''",
            b"it's",
            b"\\",
            b"\\'\\",
            b"\"",
            b"a\"b'c\\d",
            b"--",
            b"-- x",
            b"tab\there",
            b"new\nline",
            b"$HOME `x` $(y) *?[]{}~#&;|<>!",
            b"\xff\xfe non-UTF-8 \x80",
            b" leading and trailing ",
            b"virtio_mmio.device=1",
            "üñíçødé".as_bytes(),
        ];
        for word in nasty {
            roundtrip(word);
        }
        // Every byte value but NUL (which cannot be in an argument).
        let all: Vec<u8> = (1..=255).collect();
        roundtrip(&all);
    }

    #[test]
    fn full_command_line() {
        let env = [
            EnvVar {
                key: "A".into(),
                value: "x y".into(),
            },
            EnvVar {
                key: "Q".into(),
                value: "it's".into(),
            },
        ];
        let line = KernelCmdline {
            tty: [true, false, true],
            winsize: Some((50, 132)),
            strace: true,
            strace_summary: true,
            strict: true,
            log: Some(LogLevel::Debug),
            load_base: Some(0x5555_5555_4000),
            workdir: Some("/srv/my app"),
            volumes: vec!["v0:/data".into(), "v1:/in put:ro".into()],
            net: Some("dhcp"),
            net6: None,
            env: &env,
            argv0: b"./my prog",
            path: b"/my prog",
            args: vec![b"--", b"", b"a'b"],
        }
        .to_bytes();
        assert_eq!(
            String::from_utf8_lossy(&line),
            r#"'console=framed' 'tty=02' 'winsize=50x132' 'strace' 'strace-summary' 'strict' 'log=debug' 'load_base=0x555555554000' 'workdir=/srv/my app' 'volume=v0:/data' 'volume=v1:/in put:ro' 'net=dhcp' 'env=A=x y' 'env=Q=it'\''s' 'argv0=./my prog' -- '/my prog' '--' '' 'a'\''b'"#
        );
        let words = tokenize(&line).expect("tokenizes");
        let expected: [&[u8]; 20] = [
            b"console=framed",
            b"tty=02",
            b"winsize=50x132",
            b"strace",
            b"strace-summary",
            b"strict",
            b"log=debug",
            b"load_base=0x555555554000",
            b"workdir=/srv/my app",
            b"volume=v0:/data",
            b"volume=v1:/in put:ro",
            b"net=dhcp",
            b"env=A=x y",
            b"env=Q=it's",
            b"argv0=./my prog",
            b"--",
            b"/my prog",
            b"--",
            b"",
            b"a'b",
        ];
        assert_eq!(words, expected);
    }

    #[test]
    fn minimal_command_line() {
        let line = KernelCmdline {
            argv0: b"hello",
            path: b"/hello",
            ..Default::default()
        }
        .to_bytes();
        assert_eq!(line, b"'console=framed' 'tty=' 'argv0=hello' -- '/hello'");
    }
}
