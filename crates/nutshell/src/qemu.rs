//! The QEMU command line for one nutshell VM, and finding QEMU.
//!
//! The VM: `-M microvm` (no firmware, fastest) or `-M pc` (SeaBIOS, kept off the serial port
//! with `etc/sercon-port`), TCG or KVM with `-cpu max`, no default devices, no display, no
//! reboot (a triple fault stops QEMU), `isa-debug-exit` on port 0xf4 for the exit status, the
//! kernel booted through PVH with `-kernel`, the program as `-initrd`, and COM1 on a socket
//! whose other end nutshell holds (`-chardev socket,fd=N`: no path, no listening, no race).
//! `nutshell run` adds a virtio-serial device whose port 1 is on a second socket: the kernel moves
//! the console there once the device is up (microvm then always has `acpi=off`).
//!
//! Options: `--volume` adds one `-fsdev local` + `-device virtio-9p-device` pair per shared
//! directory, tagged `v0`, `v1`... (microvm only, with `acpi=off` so that QEMU appends the
//! `virtio_mmio.device=` tokens the kernel finds the devices by); `--gdb` adds
//! `-gdb tcp:127.0.0.1:PORT -S` (the VM waits for gdb's `continue`); `--net user` (the default)
//! adds `-netdev user,id=n0` with one `hostfwd=` per published port (`-p`), `--net tap:IF` adds
//! `-netdev tap,id=n0,ifname=IF,script=no,downscript=no`, each with `virtio-net-device` on microvm
//! or `virtio-net-pci` on pc; `--net none` adds no network device.

use std::ffi::{OsStr, OsString};
use std::os::fd::RawFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::cli::{Accel, Machine, MemSize, NetMode, Proto};
use crate::publish::Forward;

/// The QEMU binary looked up in PATH.
pub const QEMU: &str = "qemu-system-x86_64";

/// Why QEMU cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum QemuError {
    /// Not in PATH.
    #[error("{QEMU} not found: install it with 'apt-get install qemu-system-x86'")]
    NotFound,
    /// `--accel kvm` without a usable /dev/kvm.
    #[error("KVM is not available: /dev/kvm: {0}; use --accel tcg")]
    NoKvm(String),
}

/// The accelerator actually used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accelerator {
    /// QEMU's emulator.
    Tcg,
    /// Linux KVM.
    Kvm,
}

/// Choose the accelerator. `auto` is TCG: KVM under nested virtualisation may be unable to
/// run the kernel's ring-0 code, and a failed KVM start cannot be told from a kernel bug, so
/// KVM is used only when asked for with `--accel kvm` (or `NUTSHELL_ACCEL=kvm`), and then
/// /dev/kvm must open.
pub fn choose_accel(accel: Accel) -> Result<Accelerator, QemuError> {
    match accel {
        Accel::Auto | Accel::Tcg => Ok(Accelerator::Tcg),
        Accel::Kvm => std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
            .map(|_| Accelerator::Kvm)
            .map_err(|e| QemuError::NoKvm(crate::program::describe(&e))),
    }
}

/// Find `qemu-system-x86_64` in `path_var` (PATH).
pub fn find(path_var: Option<&OsStr>) -> Result<PathBuf, QemuError> {
    crate::program::resolve(OsStr::new(QEMU), path_var).map_err(|_| QemuError::NotFound)
}

/// Everything the QEMU command line depends on.
#[derive(Debug, Clone)]
pub struct VmConfig<'a> {
    /// `-M`.
    pub machine: Machine,
    /// `-accel`.
    pub accel: Accelerator,
    /// `-m`.
    pub mem: MemSize,
    /// `-kernel`.
    pub kernel: &'a Path,
    /// `-initrd`.
    pub initrd: &'a Path,
    /// `-append`.
    pub cmdline: &'a [u8],
    /// The inherited socket for COM1.
    pub console_fd: RawFd,
    /// The inherited socket for the virtio-serial console (port 1 of a `virtio-serial-device` or
    /// `virtio-serial-pci`), which the kernel moves the console to once it has started it.
    pub vconsole_fd: Option<RawFd>,
    /// `--gdb`: the port of QEMU's gdb server; the VM starts paused.
    pub gdb_port: Option<u16>,
    /// `--volume`: host directories shared through virtio-9p, in order (tags `v0`, `v1`...).
    pub volumes: &'a [SharedDir<'a>],
    /// `--net`.
    pub net: &'a NetMode,
    /// `hostfwd=` rules of the user-mode network (from `-p`).
    pub forwards: &'a [Forward],
}

/// One directory shared with the guest.
#[derive(Debug, Clone)]
pub struct SharedDir<'a> {
    /// The 9p mount tag (also the -fsdev id), e.g. `v0`.
    pub tag: String,
    /// The host directory (absolute).
    pub path: &'a Path,
    /// Read-only for the guest.
    pub readonly: bool,
}

/// `path` for a QEMU option value: commas are doubled (QEMU's escape).
fn option_value(path: &Path) -> OsString {
    let mut out = Vec::new();
    for &b in path.as_os_str().as_bytes() {
        out.push(b);
        if b == b',' {
            out.push(b',');
        }
    }
    OsString::from_vec(out)
}

/// QEMU's arguments (without the program name).
pub fn args(vm: &VmConfig<'_>) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    let mut push = |items: &[&str]| args.extend(items.iter().map(OsString::from));
    match vm.machine {
        // With ACPI off, QEMU describes the virtio-mmio devices on the kernel command line.
        Machine::Microvm
            if !vm.volumes.is_empty() || *vm.net != NetMode::None || vm.vconsole_fd.is_some() =>
        {
            push(&["-M", "microvm,acpi=off"])
        }
        Machine::Microvm => push(&["-M", "microvm"]),
        // SeaBIOS prints on COM1 unless told that the serial console is at port 0.
        Machine::Pc => push(&["-M", "pc", "-fw_cfg", "name=etc/sercon-port,string=0"]),
    }
    match vm.accel {
        Accelerator::Tcg => push(&["-accel", "tcg"]),
        Accelerator::Kvm => push(&["-accel", "kvm"]),
    }
    push(&[
        "-cpu",
        "max",
        "-m",
        &vm.mem.to_string(),
        "-nodefaults",
        "-no-user-config",
        "-no-reboot",
        "-display",
        "none",
        "-device",
        "isa-debug-exit,iobase=0xf4,iosize=0x04",
        "-chardev",
        &format!("socket,id=con,fd={}", vm.console_fd),
        "-serial",
        "chardev:con",
    ]);
    if let Some(fd) = vm.vconsole_fd {
        push(&[
            "-chardev",
            &format!("socket,id=vcon,fd={fd}"),
            "-device",
            match vm.machine {
                Machine::Microvm => "virtio-serial-device",
                Machine::Pc => "virtio-serial-pci",
            },
            // Port 1, a virtserialport: QEMU holds its output while the socket is full (a
            // virtconsole, port 0, would drop it).
            "-device",
            "virtserialport,chardev=vcon,nr=1",
        ]);
    }
    for dir in vm.volumes {
        let mut fsdev = OsString::from(format!("local,id={},path=", dir.tag));
        fsdev.push(option_value(dir.path));
        fsdev.push(",security_model=none");
        if dir.readonly {
            fsdev.push(",readonly=on");
        }
        args.push("-fsdev".into());
        args.push(fsdev);
        args.push("-device".into());
        args.push(format!("virtio-9p-device,fsdev={0},mount_tag={0}", dir.tag).into());
    }
    if let Some(netdev) = netdev(vm.net, vm.forwards) {
        args.push("-netdev".into());
        args.push(netdev.into());
        args.push("-device".into());
        args.push(
            match vm.machine {
                Machine::Microvm => "virtio-net-device,netdev=n0",
                Machine::Pc => "virtio-net-pci,netdev=n0",
            }
            .into(),
        );
    }
    if let Some(port) = vm.gdb_port {
        args.push("-gdb".into());
        args.push(format!("tcp:127.0.0.1:{port}").into());
        args.push("-S".into());
    }
    args.push("-kernel".into());
    args.push(vm.kernel.as_os_str().to_owned());
    args.push("-initrd".into());
    args.push(vm.initrd.as_os_str().to_owned());
    args.push("-append".into());
    args.push(OsStr::from_bytes(vm.cmdline).to_owned());
    args
}

/// The `-netdev` value for `--net` and its `hostfwd=` rules (None: no network device).
fn netdev(net: &NetMode, forwards: &[Forward]) -> Option<String> {
    match net {
        NetMode::None => None,
        NetMode::Tap(ifname) => Some(format!("tap,id=n0,ifname={ifname},script=no,downscript=no")),
        NetMode::User => {
            let mut v = String::from("user,id=n0");
            for f in forwards {
                let proto = match f.proto {
                    Proto::Tcp => "tcp",
                    Proto::Udp => "udp",
                };
                let ip = match f.host_ip {
                    None => String::new(),
                    Some(std::net::IpAddr::V4(ip)) => ip.to_string(),
                    Some(std::net::IpAddr::V6(ip)) => format!("[{ip}]"),
                };
                v.push_str(&format!(
                    ",hostfwd={proto}:{ip}:{}-:{}",
                    f.host_port, f.guest_port
                ));
            }
            Some(v)
        }
    }
}

/// The value the guest wrote to `isa-debug-exit`, from QEMU's exit code `(value << 1) | 1`.
pub fn debug_exit_value(code: i32) -> Option<u8> {
    if code & 1 == 1 {
        u8::try_from(code >> 1).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(machine: Machine) -> VmConfig<'static> {
        VmConfig {
            machine,
            accel: Accelerator::Tcg,
            mem: MemSize(64 << 20),
            kernel: Path::new("/t/kernel"),
            initrd: Path::new("/t/initrd,with,commas"),
            cmdline: b"'console=framed' -- '/a b'",
            console_fd: 7,
            vconsole_fd: None,
            gdb_port: None,
            volumes: &[],
            net: &NetMode::None,
            forwards: &[],
        }
    }

    #[test]
    fn microvm_command_line() {
        let args = args(&config(Machine::Microvm));
        let text: Vec<String> = args.iter().map(|a| a.to_string_lossy().into()).collect();
        assert_eq!(
            text.join(" "),
            "-M microvm -accel tcg -cpu max -m 64M -nodefaults -no-user-config -no-reboot \
             -display none -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
             -chardev socket,id=con,fd=7 -serial chardev:con -kernel /t/kernel \
             -initrd /t/initrd,with,commas -append 'console=framed' -- '/a b'"
        );
    }

    #[test]
    fn virtio_console() {
        let mut vm = config(Machine::Microvm);
        vm.vconsole_fd = Some(8);
        let text: Vec<String> = args(&vm)
            .iter()
            .map(|a| a.to_string_lossy().into())
            .collect();
        let text = text.join(" ");
        assert!(text.starts_with("-M microvm,acpi=off "), "{text}");
        assert!(
            text.contains(
                " -chardev socket,id=con,fd=7 -serial chardev:con \
                 -chardev socket,id=vcon,fd=8 -device virtio-serial-device \
                 -device virtserialport,chardev=vcon,nr=1 -kernel "
            ),
            "{text}"
        );
        let mut vm = config(Machine::Pc);
        vm.vconsole_fd = Some(8);
        let text: Vec<String> = args(&vm)
            .iter()
            .map(|a| a.to_string_lossy().into())
            .collect();
        assert!(
            text.join(" ")
                .contains(" -device virtio-serial-pci -device virtserialport,chardev=vcon,nr=1 "),
            "{text:?}"
        );
    }

    #[test]
    fn volumes_and_gdb() {
        let dirs = [
            SharedDir {
                tag: "v0".into(),
                path: Path::new("/home/me/out,put"),
                readonly: false,
            },
            SharedDir {
                tag: "v1".into(),
                path: Path::new("/srv/in"),
                readonly: true,
            },
        ];
        let mut vm = config(Machine::Microvm);
        vm.volumes = &dirs;
        vm.gdb_port = Some(4321);
        let text: Vec<String> = args(&vm)
            .iter()
            .map(|a| a.to_string_lossy().into())
            .collect();
        let text = text.join(" ");
        assert!(text.starts_with("-M microvm,acpi=off "), "{text}");
        assert!(
            text.contains(
                " -fsdev local,id=v0,path=/home/me/out,,put,security_model=none \
                 -device virtio-9p-device,fsdev=v0,mount_tag=v0 \
                 -fsdev local,id=v1,path=/srv/in,security_model=none,readonly=on \
                 -device virtio-9p-device,fsdev=v1,mount_tag=v1 \
                 -gdb tcp:127.0.0.1:4321 -S -kernel /t/kernel "
            ),
            "{text}"
        );
    }

    #[test]
    fn networks() {
        let fwd = |proto, host_ip: Option<&str>, host_port, guest_port| Forward {
            proto,
            host_ip: host_ip.map(|i| i.parse().unwrap()),
            host_port,
            guest_port,
        };
        let forwards = [
            fwd(Proto::Tcp, Some("127.0.0.1"), 40001, 80),
            fwd(Proto::Udp, Some("127.0.0.1"), 5353, 53),
            fwd(Proto::Udp, None, 9000, 7000),
            fwd(Proto::Udp, Some("::1"), 9001, 7001),
        ];
        let mut vm = config(Machine::Microvm);
        let user = NetMode::User;
        vm.net = &user;
        vm.forwards = &forwards;
        let text: Vec<String> = args(&vm)
            .iter()
            .map(|a| a.to_string_lossy().into())
            .collect();
        let text = text.join(" ");
        assert!(text.starts_with("-M microvm,acpi=off "), "{text}");
        assert!(
            text.contains(
                " -netdev user,id=n0,hostfwd=tcp:127.0.0.1:40001-:80,hostfwd=udp:127.0.0.1:5353-:53,\
                 hostfwd=udp::9000-:7000,hostfwd=udp:[::1]:9001-:7001 \
                 -device virtio-net-device,netdev=n0 -kernel "
            ),
            "{text}"
        );
        let tap = NetMode::Tap("tap7".into());
        let mut vm = config(Machine::Pc);
        vm.net = &tap;
        let text: Vec<String> = args(&vm)
            .iter()
            .map(|a| a.to_string_lossy().into())
            .collect();
        assert!(
            text.join(" ").contains(
                " -netdev tap,id=n0,ifname=tap7,script=no,downscript=no \
                 -device virtio-net-pci,netdev=n0 "
            ),
            "{text:?}"
        );
        // No network: no device, and microvm keeps ACPI.
        let text: Vec<String> = args(&config(Machine::Microvm))
            .iter()
            .map(|a| a.to_string_lossy().into())
            .collect();
        assert!(!text.iter().any(|a| a == "-netdev"), "{text:?}");
    }

    #[test]
    fn pc_silences_seabios() {
        let args = args(&config(Machine::Pc));
        let pos = args.iter().position(|a| a == "-fw_cfg").expect("-fw_cfg");
        assert_eq!(args[pos + 1], "name=etc/sercon-port,string=0");
        assert_eq!(args[1], "pc");
    }

    #[test]
    fn accelerators() {
        assert_eq!(choose_accel(Accel::Auto).ok(), Some(Accelerator::Tcg));
        assert_eq!(choose_accel(Accel::Tcg).ok(), Some(Accelerator::Tcg));
        assert_eq!(debug_exit_value(1), Some(0));
        assert_eq!(debug_exit_value(251), Some(125));
        assert_eq!(debug_exit_value(0), None);
        assert_eq!(debug_exit_value(2), None);
    }

    #[test]
    fn missing_qemu() {
        let empty = tempfile::tempdir().expect("tempdir");
        let err = find(Some(empty.path().as_os_str())).expect_err("not found");
        assert_eq!(
            err.to_string(),
            "qemu-system-x86_64 not found: install it with 'apt-get install qemu-system-x86'"
        );
    }
}
