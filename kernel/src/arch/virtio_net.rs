//! virtio-net on virtio-mmio (QEMU's microvm): finding the device among the `virtio_mmio.device=` slots,
//! its interrupt line through the I/O APIC, and the frame-level device `smoltcp` drives. (`-M pc` has
//! virtio-net-pci, which is not supported: no PCI transport here.)

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ptr::NonNull;

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use virtio_drivers::device::net::VirtIONet;
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::transport::{DeviceType, Transport};

use super::mem::phys_to_virt;
use super::virtio::KernelHal;

/// Descriptors per queue.
const QUEUE: usize = 64;
/// Receive buffer size: an Ethernet frame of 1514 bytes plus the virtio-net header.
const RX_BUF: usize = 2048;
/// The vector the device's interrupt raises.
pub const NET_VECTOR: u8 = 0x25;

/// A virtio-net device.
pub struct NetDevice {
    dev: VirtIONet<KernelHal, MmioTransport<'static>, QUEUE>,
}

/// `virtio_mmio.device=512@0xfeb00e00:12` → (address, size, IRQ).
fn parse(token: &[u8]) -> Option<(u64, u64, u32)> {
    let v = core::str::from_utf8(token.strip_prefix(b"virtio_mmio.device=")?).ok()?;
    let (size, rest) = v.split_once('@')?;
    let (addr, irq) = rest.split_once(':')?;
    let size = match size.strip_suffix('K') {
        Some(k) => k.parse::<u64>().ok()? * 1024,
        None => size.parse::<u64>().ok()?,
    };
    let addr = u64::from_str_radix(addr.trim_start_matches("0x"), 16).ok()?;
    Some((addr, size, irq.parse().ok()?))
}

/// A virtio-net device found on the command line, not started yet.
pub struct Found {
    transport: MmioTransport<'static>,
    pub irq: u32,
    addr: u64,
}

/// The first virtio-net device among the command line's tokens, with its IRQ.
pub fn probe(tokens: &[Vec<u8>]) -> Option<Found> {
    for t in tokens {
        let Some((addr, size, irq)) = parse(t) else {
            continue;
        };
        if addr >= super::mem::PHYS_MAP_SIZE || size < 0x100 {
            continue;
        }
        let Some(header) = NonNull::new(phys_to_virt(addr) as *mut VirtIOHeader) else {
            continue;
        };
        // SAFETY: the slot is a virtio-mmio register block QEMU announced; it stays mapped for good.
        let Ok(transport) = (unsafe { MmioTransport::new(header, size as usize) }) else {
            continue;
        };
        if transport.device_type() == DeviceType::Network {
            return Some(Found {
                transport,
                irq,
                addr,
            });
        }
    }
    None
}

/// Start the device (its queues are large: call this on a roomy stack, not the boot stack).
#[inline(never)]
pub fn start(found: Found) -> Option<Box<NetDevice>> {
    match VirtIONet::<KernelHal, _, QUEUE>::new(found.transport, RX_BUF) {
        Ok(dev) => Some(Box::new(NetDevice { dev })),
        Err(e) => {
            crate::log(&alloc::format!(
                "nutshell: virtio-net at {:#x}: {e:?}",
                found.addr
            ));
            None
        }
    }
}

impl NetDevice {
    pub fn mac(&self) -> [u8; 6] {
        self.dev.mac_address()
    }

    /// Acknowledge the device's interrupt (it lowers its line).
    pub fn ack_interrupt(&mut self) {
        self.dev.ack_interrupt();
    }

    pub fn enable_interrupts(&mut self) {
        self.dev.enable_interrupts();
    }
}

const IOAPIC_BASE: u64 = 0xfec0_0000;

fn ioapic_write(reg: u32, v: u32) {
    // SAFETY: the I/O APIC's index/data registers at IOAPIC_BASE (physical map); 32-bit accesses.
    unsafe {
        core::ptr::write_volatile(phys_to_virt(IOAPIC_BASE) as *mut u32, reg);
        core::ptr::write_volatile(phys_to_virt(IOAPIC_BASE + 0x10) as *mut u32, v);
    }
}

/// Route I/O APIC input `gsi` to this CPU as `NET_VECTOR` (edge: the handler acknowledges the device,
/// so its line falls and the next event is a new edge).
pub fn route_irq(gsi: u32) {
    if gsi >= 24 {
        return;
    }
    let entry = 0x10 + 2 * gsi;
    ioapic_write(entry + 1, 0);
    ioapic_write(entry, u32::from(NET_VECTOR));
}

/// A received frame, copied out of the device's buffer (which goes straight back to the device).
pub struct RxToken(Vec<u8>);

/// Room to send one frame.
pub struct TxToken<'a>(&'a mut VirtIONet<KernelHal, MmioTransport<'static>, QUEUE>);

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut tx = self.0.new_tx_buffer(len);
        let r = f(tx.packet_mut());
        if let Err(e) = self.0.send(tx) {
            crate::log_at(
                crate::LOG_DEBUG,
                &alloc::format!("nutshell: virtio-net send: {e:?}"),
            );
        }
        r
    }
}

impl Device for NetDevice {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _t: Instant) -> Option<(RxToken, TxToken<'_>)> {
        if !self.dev.can_recv() {
            return None;
        }
        let buf = self.dev.receive().ok()?;
        let frame = buf.packet().to_vec();
        let _ = self.dev.recycle_rx_buffer(buf);
        Some((RxToken(frame), TxToken(&mut self.dev)))
    }

    fn transmit(&mut self, _t: Instant) -> Option<TxToken<'_>> {
        if self.dev.can_send() {
            Some(TxToken(&mut self.dev))
        } else {
            None
        }
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut c = DeviceCapabilities::default();
        c.medium = Medium::Ethernet;
        c.max_transmission_unit = 1514;
        c.max_burst_size = Some(QUEUE / 2);
        c
    }
}
