//! The kernel command line: `[OPTION... --] PROGRAM [ARG...]` with shell-like quoting (docs/PROTOCOL.md).

use alloc::string::String;
use alloc::vec::Vec;

/// Split a command line into words: spaces separate, '...' and "..." group, backslash escapes the next
/// character outside single quotes (inside double quotes too, like a POSIX shell word without expansions).
pub fn split_words(line: &[u8]) -> Vec<Vec<u8>> {
    let mut words = Vec::new();
    let mut cur = Vec::new();
    let mut in_word = false;
    let mut i = 0;
    while i < line.len() {
        let c = line[i];
        match c {
            b' ' | b'\t' | b'\n' => {
                if in_word {
                    words.push(core::mem::take(&mut cur));
                    in_word = false;
                }
            }
            b'\'' => {
                in_word = true;
                i += 1;
                while i < line.len() && line[i] != b'\'' {
                    cur.push(line[i]);
                    i += 1;
                }
            }
            b'"' => {
                in_word = true;
                i += 1;
                while i < line.len() && line[i] != b'"' {
                    if line[i] == b'\\' && i + 1 < line.len() {
                        i += 1;
                    }
                    cur.push(line[i]);
                    i += 1;
                }
            }
            b'\\' => {
                in_word = true;
                if i + 1 < line.len() {
                    i += 1;
                    cur.push(line[i]);
                }
            }
            _ => {
                in_word = true;
                cur.push(c);
            }
        }
        i += 1;
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// The parsed command line.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Cmdline {
    /// Kernel options (the words before `--`).
    pub options: Vec<String>,
    /// PROGRAM and its arguments.
    pub argv: Vec<Vec<u8>>,
    /// The device tokens QEMU appends on microvm (`virtio_mmio.device=SIZE@ADDR:IRQ`), wherever they were.
    pub devices: Vec<Vec<u8>>,
}

impl Cmdline {
    /// Parse a command line, setting apart the device tokens QEMU appends on microvm.
    pub fn parse(line: &[u8]) -> Cmdline {
        let (devices, words): (Vec<Vec<u8>>, Vec<Vec<u8>>) = split_words(line)
            .into_iter()
            .partition(|w| w.starts_with(b"virtio_mmio.device="));
        match words.iter().position(|w| w == b"--") {
            Some(i) => Cmdline {
                options: words[..i]
                    .iter()
                    .map(|w| String::from_utf8_lossy(w).into_owned())
                    .collect(),
                argv: words[i + 1..].to_vec(),
                devices,
            },
            None => Cmdline {
                options: Vec::new(),
                argv: words,
                devices,
            },
        }
    }

    /// Whether the flag option `name` is present.
    pub fn flag(&self, name: &str) -> bool {
        self.options.iter().any(|o| o == name)
    }

    /// The values of `name=VALUE` options, in order.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.options
            .iter()
            .filter_map(move |o| o.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
    }

    /// The last value of `name=VALUE`.
    pub fn value<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.values(name).last()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_quotes() {
        let w = split_words(br#"a  'b c' "d \"e\"" f\ g 'it'\''s' ''"#);
        let w: Vec<&[u8]> = w.iter().map(|v| v.as_slice()).collect();
        assert_eq!(w, [&b"a"[..], b"b c", b"d \"e\"", b"f g", b"it's", b""]);
    }

    #[test]
    fn options_and_device_tokens() {
        let c = Cmdline::parse(
            b"strace env=A=1 -- /bin/app x -- y virtio_mmio.device=512@0xfeb00e00:12",
        );
        assert_eq!(c.options, ["strace", "env=A=1"]);
        assert!(c.flag("strace"));
        assert_eq!(c.value("env"), Some("A=1"));
        let argv: Vec<&[u8]> = c.argv.iter().map(|v| v.as_slice()).collect();
        assert_eq!(argv, [&b"/bin/app"[..], b"x", b"--", b"y"]);
        assert_eq!(
            c.devices,
            [b"virtio_mmio.device=512@0xfeb00e00:12".to_vec()]
        );
        assert_eq!(Cmdline::parse(b"hello a b").argv.len(), 3);
        assert!(Cmdline::parse(b"").argv.is_empty());
    }
}
