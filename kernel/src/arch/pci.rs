//! PCI (QEMU's `-M pc`): configuration space through the legacy ports 0xCF8/0xCFC (configuration
//! mechanism #1; the i440FX has no ECAM) for virtio-drivers' `PciRoot` and `PciTransport`, and a scan
//! of bus 0 and the buses behind PCI-to-PCI bridges for a virtio device. SeaBIOS has assigned the BARs
//! and the interrupt lines already; the scan maps the device's memory BARs uncached, enables memory
//! decoding, bus mastering and INTx, and reports the interrupt line.

use alloc::vec::Vec;
use core::arch::asm;

use virtio_drivers::transport::pci::bus::{
    BarInfo, Command, ConfigurationAccess, DeviceFunction, HeaderType, PciRoot,
};
use virtio_drivers::transport::pci::{virtio_device_type, PciTransport};
use virtio_drivers::transport::DeviceType;

use super::virtio::KernelHal;

const CONFIG_ADDRESS: u16 = 0xcf8;
const CONFIG_DATA: u16 = 0xcfc;
/// Offset of the interrupt line (byte 0) and interrupt pin (byte 1) registers.
const INTERRUPT_OFFSET: u8 = 0x3c;
/// Offset of a bridge's bus numbers: primary (byte 0), secondary (byte 1), subordinate (byte 2).
const BRIDGE_BUSES_OFFSET: u8 = 0x18;
/// Buses scanned at most (bus 0 and those behind bridges).
const MAX_BUSES: usize = 32;

/// Configuration mechanism #1: a 32-bit address written to 0xCF8 selects a register, 0xCFC reads or
/// writes it. Stateless: every access writes the address first (the kernel runs on one CPU with
/// interrupts off, so nothing interleaves between the two port accesses).
#[derive(Clone, Copy, Debug)]
pub struct PortCam;

fn address(df: DeviceFunction, offset: u8) -> u32 {
    0x8000_0000
        | u32::from(df.bus) << 16
        | u32::from(df.device & 0x1f) << 11
        | u32::from(df.function & 0x7) << 8
        | u32::from(offset & 0xfc)
}

impl ConfigurationAccess for PortCam {
    fn read_word(&self, df: DeviceFunction, offset: u8) -> u32 {
        let value: u32;
        // SAFETY: 0xCF8/0xCFC are the PCI configuration ports; selecting and reading a configuration
        // register has no effect on memory. Where no PCI host bridge decodes them (microvm), the read
        // returns all ones, which reads as "no device".
        unsafe {
            asm!("out dx, eax", in("dx") CONFIG_ADDRESS, in("eax") address(df, offset),
                 options(nomem, nostack, preserves_flags));
            asm!("in eax, dx", in("dx") CONFIG_DATA, out("eax") value,
                 options(nomem, nostack, preserves_flags));
        }
        value
    }

    fn write_word(&mut self, df: DeviceFunction, offset: u8, data: u32) {
        // SAFETY: as for `read_word`; the callers (virtio-drivers and this module) write only the
        // command register and BARs (sizing, then restoring them), never anything that would make a
        // device write to memory the kernel did not hand it.
        unsafe {
            asm!("out dx, eax", in("dx") CONFIG_ADDRESS, in("eax") address(df, offset),
                 options(nomem, nostack, preserves_flags));
            asm!("out dx, eax", in("dx") CONFIG_DATA, in("eax") data,
                 options(nomem, nostack, preserves_flags));
        }
    }

    unsafe fn unsafe_clone(&self) -> Self {
        PortCam
    }
}

/// A virtio device found on PCI, with its transport ready.
pub struct VirtioPci {
    pub transport: PciTransport,
    pub function: DeviceFunction,
    /// The I/O APIC input its INTx line reaches (the interrupt line SeaBIOS programmed), if any.
    pub irq: Option<u32>,
}

/// The device functions of every bus reachable from bus 0 (breadth first through bridges).
fn functions(root: &PciRoot<PortCam>) -> Vec<(DeviceFunction, Option<DeviceType>)> {
    let mut out = Vec::new();
    let mut buses = alloc::vec![0u8];
    let mut i = 0;
    while i < buses.len() && i < MAX_BUSES {
        for (df, info) in root.enumerate_bus(buses[i]) {
            if info.header_type == HeaderType::PciPciBridge {
                let secondary = (PortCam.read_word(df, BRIDGE_BUSES_OFFSET) >> 8) as u8;
                if secondary != 0 && !buses.contains(&secondary) {
                    buses.push(secondary);
                }
            }
            out.push((df, virtio_device_type(&info)));
        }
        i += 1;
    }
    out
}

/// The first virtio device of type `ty` on PCI, enabled, with its transport.
pub fn find_virtio(ty: DeviceType) -> Option<VirtioPci> {
    let mut root = PciRoot::new(PortCam);
    let candidates = functions(&root);
    for (df, t) in candidates {
        if t != Some(ty) {
            continue;
        }
        match enable(&mut root, df) {
            Ok(v) => return Some(v),
            Err(e) => crate::log(&alloc::format!("nutshell: PCI {df}: {e}")),
        }
    }
    None
}

fn enable(
    root: &mut PciRoot<PortCam>,
    df: DeviceFunction,
) -> Result<VirtioPci, alloc::string::String> {
    let bars = root
        .bars(df)
        .map_err(|e| alloc::format!("reading the BARs: {e}"))?;
    for bar in bars.iter().flatten() {
        if let BarInfo::Memory { address, size, .. } = *bar {
            if address != 0 && !super::mem::map_mmio(address, size) {
                return Err(alloc::format!(
                    "BAR at {address:#x} (size {size:#x}) is out of the kernel's reach"
                ));
            }
        }
    }
    let (_, command) = root.get_status_command(df);
    root.set_command(
        df,
        (command | Command::MEMORY_SPACE | Command::BUS_MASTER) - Command::INTERRUPT_DISABLE,
    );
    let transport =
        PciTransport::new::<KernelHal, _>(root, df).map_err(|e| alloc::format!("{e}"))?;
    let int = PortCam.read_word(df, INTERRUPT_OFFSET);
    let (line, pin) = (int & 0xff, (int >> 8) & 0xff);
    // Pin 0: no INTx; line 0xff: not connected (the firmware did not route it).
    let irq = (pin != 0 && line < 24).then_some(line);
    Ok(VirtioPci {
        transport,
        function: df,
        irq,
    })
}
