//! Function symbols of an ELF image (`.symtab`, else `.dynsym`), to name the code at an address in
//! crash reports: `crash_here+0x12`.

use alloc::string::String;
use alloc::vec::Vec;

/// One function symbol: `[value, value + size)` in the file's (unbiased) addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    /// Symbol address as in the file.
    pub value: u64,
    /// Size in bytes (0 when unknown).
    pub size: u64,
    /// Name, lossily decoded.
    pub name: String,
}

/// The function symbols of an image, sorted by address.
#[derive(Clone, Debug, Default)]
pub struct Symbols {
    syms: Vec<Symbol>,
}

fn u16_at(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(o..o + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(o..o + 8)?.try_into().ok()?))
}

const SHT_SYMTAB: u32 = 2;
const SHT_DYNSYM: u32 = 11;
const STT_FUNC: u8 = 2;
/// At most this many symbols are read (a bound on work for hostile images).
const MAX_SYMBOLS: usize = 1 << 20;

impl Symbols {
    /// Read the function symbols of an ELF64 little-endian image; an image without symbols (or a
    /// malformed section table) gives an empty set, never an error.
    pub fn from_image(image: &[u8]) -> Symbols {
        Self::read(image).unwrap_or_default()
    }

    fn read(image: &[u8]) -> Option<Symbols> {
        if image.get(..4)? != b"\x7fELF" || *image.get(4)? != 2 || *image.get(5)? != 1 {
            return None;
        }
        let shoff = usize::try_from(u64_at(image, 0x28)?).ok()?;
        let shentsize = usize::from(u16_at(image, 0x3a)?);
        let shnum = usize::from(u16_at(image, 0x3c)?);
        if shentsize < 64 || shoff == 0 {
            return None;
        }
        let section = |i: usize| -> Option<(u32, usize, usize, u32, usize)> {
            let h = image.get(shoff.checked_add(i.checked_mul(shentsize)?)?..)?;
            let ty = u32_at(h, 4)?;
            let off = usize::try_from(u64_at(h, 0x18)?).ok()?;
            let size = usize::try_from(u64_at(h, 0x20)?).ok()?;
            let link = u32_at(h, 0x28)?;
            let entsize = usize::try_from(u64_at(h, 0x38)?).ok()?;
            Some((ty, off, size, link, entsize))
        };
        let pick = |want: u32| (0..shnum).find(|i| section(*i).is_some_and(|s| s.0 == want));
        let idx = pick(SHT_SYMTAB).or_else(|| pick(SHT_DYNSYM))?;
        let (_, off, size, link, entsize) = section(idx)?;
        let (_, stroff, strsize, _, _) = section(link as usize)?;
        let strtab = image.get(stroff..stroff.checked_add(strsize)?)?;
        let table = image.get(off..off.checked_add(size)?)?;
        let entsize = if entsize >= 24 { entsize } else { 24 };
        let mut syms = Vec::new();
        for e in table.chunks_exact(entsize).take(MAX_SYMBOLS) {
            let info = e[4];
            let value = u64_at(e, 8)?;
            let sz = u64_at(e, 16)?;
            if info & 0xf != STT_FUNC || value == 0 {
                continue;
            }
            let name_off = u32_at(e, 0)? as usize;
            let name = strtab.get(name_off..).unwrap_or(&[]);
            let end = name.iter().position(|c| *c == 0).unwrap_or(name.len());
            syms.push(Symbol {
                value,
                size: sz,
                name: String::from_utf8_lossy(&name[..end]).into_owned(),
            });
        }
        syms.sort_by_key(|s| s.value);
        Some(Symbols { syms })
    }

    /// Number of function symbols.
    pub fn len(&self) -> usize {
        self.syms.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.syms.is_empty()
    }

    /// The function containing `addr` (file address) and the offset into it. A symbol of unknown size
    /// covers up to the next symbol.
    pub fn lookup(&self, addr: u64) -> Option<(&str, u64)> {
        let i = self
            .syms
            .partition_point(|s| s.value <= addr)
            .checked_sub(1)?;
        let s = &self.syms[i];
        let inside = if s.size > 0 {
            addr < s.value + s.size
        } else {
            self.syms.get(i + 1).is_none_or(|n| addr < n.value)
        };
        inside.then(|| (s.name.as_str(), addr - s.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_functions_of_a_real_binary() {
        let dir = std::env::temp_dir().join(format!("elf-loader-syms-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let src = dir.join("s.c");
        std::fs::write(
            &src,
            "int helper(int x){return x*3;}\nint main(void){return helper(2);}\n",
        )
        .expect("write source");
        let bin = dir.join("s");
        let ok = std::process::Command::new("gcc")
            .args(["-O0", "-static-pie", "-o"])
            .arg(&bin)
            .arg(&src)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            eprintln!("gcc unavailable: skipping");
            return;
        }
        let image = std::fs::read(&bin).expect("read binary");
        let syms = Symbols::from_image(&image);
        assert!(syms.len() > 10);
        let helper = syms
            .syms
            .iter()
            .find(|s| s.name == "helper")
            .expect("helper symbol");
        assert_eq!(syms.lookup(helper.value + 3), Some(("helper", 3)));
        assert_eq!(syms.lookup(0), None);
        // Truncations and garbage never panic.
        for cut in [0, 10, 64, 100, image.len() / 2] {
            let _ = Symbols::from_image(&image[..cut]);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
