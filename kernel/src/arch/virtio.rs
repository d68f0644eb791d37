//! virtio devices on virtio-mmio (QEMU's microvm): the DMA glue `virtio-drivers` needs, discovery from the
//! `virtio_mmio.device=SIZE@ADDR:IRQ` tokens QEMU appends to the command line, and the 9p transport.

use alloc::string::String;
use alloc::vec::Vec;
use core::ptr::NonNull;

use virtio_drivers::device::virtio_9p::VirtIO9p;
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::transport::{DeviceType, Transport};
use virtio_drivers::{BufferDirection, Hal, PhysAddr};

use super::mem::{alloc_contiguous, free_frame, phys_to_virt, PHYS_OFFSET};

const KERNEL_VMA: u64 = 0xffff_ffff_8000_0000;

/// Physical address of a kernel virtual address (the physical map or the kernel image).
fn virt_to_phys(va: u64) -> u64 {
    if va >= KERNEL_VMA {
        va - KERNEL_VMA
    } else {
        va - PHYS_OFFSET
    }
}

/// DMA for virtio-drivers: physically contiguous frames from the frame allocator; kernel buffers are
/// shared in place (every kernel address range is physically contiguous: the physical map is linear and
/// the kernel image is loaded contiguously).
pub struct KernelHal;

// SAFETY: dma_alloc returns zeroed, page-aligned, physically contiguous memory that stays valid until
// dma_dealloc; share returns the physical address of memory that is mapped one-to-one.
unsafe impl Hal for KernelHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let pa = alloc_contiguous(pages).expect("out of memory for a virtio queue");
        let va = phys_to_virt(pa);
        // SAFETY: the frames were just allocated; they are mapped through the physical map.
        unsafe { core::ptr::write_bytes(va, 0, pages * 4096) };
        (
            pa,
            NonNull::new(va).expect("the physical map is never null"),
        )
    }

    unsafe fn dma_dealloc(paddr: PhysAddr, _vaddr: NonNull<u8>, pages: usize) -> i32 {
        for i in 0..pages as u64 {
            free_frame(paddr + i * 4096);
        }
        0
    }

    // PCI BARs: `pci::find_virtio` maps them (uncached) before it builds a transport.
    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, _size: usize) -> NonNull<u8> {
        NonNull::new(phys_to_virt(paddr)).expect("the physical map is never null")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        virt_to_phys(buffer.as_ptr() as *mut u8 as u64)
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}

/// A virtio-mmio device slot from the command line.
#[derive(Clone, Copy, Debug)]
pub struct MmioSlot {
    pub addr: u64,
    pub size: u64,
    /// The I/O APIC input of its interrupt, when the token names one.
    pub irq: Option<u32>,
}

/// Parse `virtio_mmio.device=512@0xfeb00e00:12` (size, optionally with K, @ address [: IRQ]).
pub fn parse_slot(token: &[u8]) -> Option<MmioSlot> {
    let v = core::str::from_utf8(token.strip_prefix(b"virtio_mmio.device=")?).ok()?;
    let (size, rest) = v.split_once('@')?;
    let (addr, irq) = match rest.split_once(':') {
        Some((addr, irq)) => (addr, Some(irq.parse().ok()?)),
        None => (rest, None),
    };
    let size = match size.strip_suffix('K') {
        Some(k) => k.parse::<u64>().ok()? * 1024,
        None => size.parse::<u64>().ok()?,
    };
    let addr = u64::from_str_radix(addr.trim_start_matches("0x"), 16).ok()?;
    Some(MmioSlot { addr, size, irq })
}

/// The first virtio-mmio device of type `ty` with an interrupt among the command line's tokens: its
/// transport and IRQ. Only that device gets a transport (see `mmio_device_id`).
pub fn find_mmio(
    tokens: &[Vec<u8>],
    ty: DeviceType,
) -> Option<(MmioTransport<'static>, MmioSlot, u32)> {
    tokens
        .iter()
        .filter_map(|t| parse_slot(t))
        .find_map(|slot| {
            let irq = slot.irq?;
            if mmio_device_id(slot.addr, slot.size) != ty as u32 {
                return None;
            }
            let t = transport(slot)?;
            (t.device_type() == ty).then_some((t, slot, irq))
        })
}

/// The virtio device ID in a virtio-mmio slot (0: none), read from its registers without building a
/// transport: dropping a transport resets its device, so probes must not build one for a device that
/// another driver owns.
pub fn mmio_device_id(addr: u64, size: u64) -> u32 {
    // The physical map covers the first 4 GiB, where microvm places its virtio-mmio slots.
    if addr >= super::mem::PHYS_MAP_SIZE || size < 0x100 {
        return 0;
    }
    let regs = phys_to_virt(addr) as *const u32;
    // SAFETY: the slot is a virtio-mmio register block QEMU announced, mapped through the physical
    // map; reading the magic value (offset 0) and the device ID (offset 8) has no side effect.
    let (magic, id) = unsafe {
        (
            core::ptr::read_volatile(regs),
            core::ptr::read_volatile(regs.add(2)),
        )
    };
    if magic == 0x7472_6976 {
        id
    } else {
        0
    }
}

fn transport(slot: MmioSlot) -> Option<MmioTransport<'static>> {
    // The physical map covers the first 4 GiB, where microvm places its virtio-mmio slots.
    if slot.addr >= super::mem::PHYS_MAP_SIZE || slot.size < 0x100 {
        return None;
    }
    let header = NonNull::new(phys_to_virt(slot.addr) as *mut VirtIOHeader)?;
    // SAFETY: the slot is a virtio-mmio register block QEMU announced; it stays mapped for good.
    unsafe { MmioTransport::new(header, slot.size as usize) }.ok()
}

/// A 9p share: its mount tag and the device.
pub struct P9Device {
    pub tag: String,
    dev: VirtIO9p<KernelHal, MmioTransport<'static>>,
    buf: Vec<u8>,
}

/// Find the virtio-9p devices among the slots.
pub fn find_9p(slots: &[MmioSlot]) -> Vec<P9Device> {
    let mut out = Vec::new();
    for s in slots {
        if mmio_device_id(s.addr, s.size) != DeviceType::_9P as u32 {
            continue;
        }
        let Some(t) = transport(*s) else { continue };
        if t.device_type() != DeviceType::_9P {
            continue;
        }
        match VirtIO9p::<KernelHal, _>::new(t) {
            Ok(dev) => out.push(P9Device {
                tag: String::from(dev.mount_tag()),
                dev,
                buf: Vec::new(),
            }),
            Err(e) => crate::log(&alloc::format!(
                "nutshell: virtio-9p device at {:#x}: {e:?}",
                s.addr
            )),
        }
    }
    out
}

impl p9::Transport for P9Device {
    fn rpc(&mut self, request: &[u8], reply: &mut Vec<u8>) -> Result<(), p9::Errno> {
        // Replies are at most msize bytes; keep one buffer of that size.
        if self.buf.len() < 1 << 20 {
            self.buf.resize(1 << 20, 0);
        }
        let n = self
            .dev
            .request(request, &mut self.buf)
            .map_err(|_| p9::EIO)? as usize;
        reply.extend_from_slice(&self.buf[..n.min(self.buf.len())]);
        Ok(())
    }
}
