//! The filesystem tree around the program: `/dev`, `/proc`, `/sys`, `/tmp` and `/etc` defaults around the
//! root filesystem from the initrd, host directories from `volume=TAG:GUESTPATH[:ro]` options over
//! virtio-9p, and the working directory from `workdir=DIR`.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use kernel_core::cmdline::Cmdline;
use kernel_core::platform::Platform;
use kernel_core::process::Process;
use kernel_core::vfs::proc::{uuid, ExecInfo, SystemInfo};
use kernel_core::vfs::{p9fs, Env, Fs, MountFlags};
use raw_cpuid::CpuId;

use crate::arch::virtio;
use crate::{fail, STATUS_KERNEL};

/// The working directory asked for with `workdir=`.
static WORKDIR: spin::Mutex<Option<Vec<u8>>> = spin::Mutex::new(None);

/// What /proc/cpuinfo and friends say about this machine.
fn system_info() -> SystemInfo {
    let cpuid = CpuId::new();
    let vendor = cpuid
        .get_vendor_info()
        .map(|v| String::from(v.as_str()))
        .unwrap_or_default();
    let brand = cpuid
        .get_processor_brand_string()
        .map(|b| String::from(b.as_str().trim()))
        .unwrap_or_else(|| String::from("QEMU Virtual CPU"));
    let f = cpuid.get_feature_info();
    let (family, model, stepping) = f.as_ref().map_or((0, 0, 0), |f| {
        let family = u32::from(f.family_id())
            + if f.family_id() == 0xf {
                u32::from(f.extended_family_id())
            } else {
                0
            };
        let model = u32::from(f.model_id()) | (u32::from(f.extended_model_id()) << 4);
        (family, model, u32::from(f.stepping_id()))
    });
    let mut flags: Vec<&str> = Vec::new();
    if let Some(f) = &f {
        let table: [(bool, &str); 37] = [
            (f.has_fpu(), "fpu"),
            (f.has_vme(), "vme"),
            (f.has_de(), "de"),
            (f.has_pse(), "pse"),
            (f.has_tsc(), "tsc"),
            (f.has_msr(), "msr"),
            (f.has_pae(), "pae"),
            (f.has_mce(), "mce"),
            (f.has_cmpxchg8b(), "cx8"),
            (f.has_apic(), "apic"),
            (f.has_sysenter_sysexit(), "sep"),
            (f.has_mtrr(), "mtrr"),
            (f.has_pge(), "pge"),
            (f.has_mca(), "mca"),
            (f.has_cmov(), "cmov"),
            (f.has_pat(), "pat"),
            (f.has_pse36(), "pse36"),
            (f.has_clflush(), "clflush"),
            (f.has_mmx(), "mmx"),
            (f.has_fxsave_fxstor(), "fxsr"),
            (f.has_sse(), "sse"),
            (f.has_sse2(), "sse2"),
            (f.has_sse3(), "pni"),
            (f.has_pclmulqdq(), "pclmulqdq"),
            (f.has_ssse3(), "ssse3"),
            (f.has_fma(), "fma"),
            (f.has_cmpxchg16b(), "cx16"),
            (f.has_sse41(), "sse4_1"),
            (f.has_sse42(), "sse4_2"),
            (f.has_movbe(), "movbe"),
            (f.has_popcnt(), "popcnt"),
            (f.has_aesni(), "aes"),
            (f.has_xsave(), "xsave"),
            (f.has_avx(), "avx"),
            (f.has_f16c(), "f16c"),
            (f.has_rdrand(), "rdrand"),
            (f.has_hypervisor(), "hypervisor"),
        ];
        flags.extend(table.iter().filter(|(on, _)| *on).map(|(_, n)| *n));
    }
    if let Some(e) = cpuid.get_extended_processor_and_feature_identifiers() {
        if e.has_syscall_sysret() {
            flags.push("syscall");
        }
        if e.has_execute_disable() {
            flags.push("nx");
        }
        if e.has_64bit_mode() {
            flags.push("lm");
        }
        if e.has_lahf_sahf() {
            flags.push("lahf_lm");
        }
        if e.has_lzcnt() {
            flags.push("abm");
        }
    }
    if let Some(e) = cpuid.get_extended_feature_info() {
        for (on, n) in [
            (e.has_fsgsbase(), "fsgsbase"),
            (e.has_bmi1(), "bmi1"),
            (e.has_avx2(), "avx2"),
            (e.has_smep(), "smep"),
            (e.has_bmi2(), "bmi2"),
            (e.has_rep_movsb_stosb(), "erms"),
            (e.has_rdseed(), "rdseed"),
            (e.has_adx(), "adx"),
            (e.has_smap(), "smap"),
            (e.has_sha(), "sha_ni"),
            (e.has_avx512f(), "avx512f"),
        ] {
            if on {
                flags.push(n);
            }
        }
    }
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&crate::platform::random_u64().to_le_bytes());
    id[8..].copy_from_slice(&crate::platform::random_u64().to_le_bytes());
    let plat = crate::platform::KernelPlatform;
    let boot_ns = plat.realtime_ns().saturating_sub(plat.monotonic_ns());
    SystemInfo {
        cpu_vendor: vendor,
        cpu_model_name: brand,
        cpu_family: family,
        cpu_model: model,
        cpu_stepping: stepping,
        cpu_khz: crate::platform::tsc_per_us() * 1000,
        cpu_flags: flags.join(" "),
        boot_id: uuid(&id),
        boot_time: boot_ns / 1_000_000_000,
    }
}

/// Mount the standard filesystems and the volumes of the command line into `fs`, which holds the root
/// filesystem. A volume whose device is missing stops the kernel (status 125).
pub fn mount_all(fs: &mut Fs, cmd: &Cmdline) {
    if let Err(e) = fs.mount_standard(system_info()) {
        crate::log(&format!(
            "nutshell: cannot set up /dev, /proc and /sys: errno {}",
            e.0
        ));
    }
    let volumes: Vec<&str> = cmd.values("volume").collect();
    if !volumes.is_empty() {
        let slots: Vec<virtio::MmioSlot> = cmd
            .devices
            .iter()
            .filter_map(|t| virtio::parse_slot(t))
            .collect();
        let mut devices: Vec<Option<virtio::P9Device>> =
            virtio::find_9p(&slots).into_iter().map(Some).collect();
        for v in volumes {
            // TAG:GUESTPATH[:ro]
            let (spec, ro) = match v.strip_suffix(":ro") {
                Some(s) => (s, true),
                None => (v.strip_suffix(":rw").unwrap_or(v), false),
            };
            let Some((tag, guest)) = spec.split_once(':') else {
                fail(
                    STATUS_KERNEL,
                    &format!("nutshell: volume={v}: expected TAG:GUESTPATH[:ro]"),
                )
            };
            let Some(dev) = devices
                .iter_mut()
                .find(|d| d.as_ref().is_some_and(|d| d.tag == tag))
                .and_then(|d| d.take())
            else {
                fail(
                    STATUS_KERNEL,
                    &format!("nutshell: volume={v}: no virtio-9p device with mount tag '{tag}'"),
                )
            };
            let root = match p9fs::mount(Box::new(dev), ro) {
                Ok(r) => r,
                Err(e) => fail(
                    STATUS_KERNEL,
                    &format!("nutshell: volume={v}: 9p attach failed: errno {}", e.0),
                ),
            };
            let res = fs.mkdir_p(guest.as_bytes(), 0o755).and_then(|_| {
                fs.mount(
                    guest.as_bytes(),
                    root,
                    "9p",
                    tag,
                    MountFlags { read_only: ro },
                )
            });
            if let Err(e) = res {
                fail(
                    STATUS_KERNEL,
                    &format!(
                        "nutshell: volume={v}: cannot mount on {guest}: errno {}",
                        e.0
                    ),
                );
            }
        }
    }
    if let Some((rows, cols)) = cmd.value("winsize").and_then(|w| w.split_once('x')) {
        if let (Ok(r), Ok(c)) = (rows.parse::<u16>(), cols.parse::<u16>()) {
            kernel_core::vfs::file::set_winsize(r, c);
        }
    }
    if let Some(dir) = cmd.value("workdir") {
        if let Err(e) = fs.mkdir_p(dir.as_bytes(), 0o755) {
            fail(
                STATUS_KERNEL,
                &format!("nutshell: workdir={dir}: cannot create it: errno {}", e.0),
            );
        }
        *WORKDIR.lock() = Some(dir.as_bytes().to_vec());
    }
}

/// Start the process in the directory of `workdir=`.
pub fn enter_workdir(p: &mut Process) {
    let Some(dir) = WORKDIR.lock().take() else {
        return;
    };
    if let Ok(cwd) = p.fs.resolve(&Env::none(), &p.fs.root, &dir, true) {
        if cwd.is_dir() {
            p.cwd = cwd;
        }
    }
}

/// What /proc/self/{cmdline,environ,auxv,stat} need from the initial stack.
pub fn exec_info(stack: &elf_loader::InitialStack) -> ExecInfo {
    let slice = |start: u64, end: u64| -> Vec<u8> {
        let s = start.saturating_sub(stack.sp) as usize;
        let e = end.saturating_sub(stack.sp) as usize;
        stack
            .bytes
            .get(s..e)
            .map(|b| b.to_vec())
            .unwrap_or_default()
    };
    let mut auxv = Vec::with_capacity((stack.auxv.len() + 1) * 16);
    for (k, v) in stack.auxv.iter().chain(core::iter::once(&(0, 0))) {
        auxv.extend_from_slice(&k.to_le_bytes());
        auxv.extend_from_slice(&v.to_le_bytes());
    }
    ExecInfo {
        cmdline: slice(stack.arg_start, stack.arg_end),
        environ: slice(stack.env_start, stack.env_end),
        auxv,
        arg_range: (stack.arg_start, stack.arg_end),
        env_range: (stack.env_start, stack.env_end),
    }
}
