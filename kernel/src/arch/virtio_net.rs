//! virtio-net on virtio-mmio (QEMU's microvm: the device among the `virtio_mmio.device=` slots, an
//! edge-triggered interrupt) or on PCI (`-M pc`'s virtio-net-pci: its INTx line, level-triggered),
//! its interrupt routed through the I/O APIC, and the frame-level device `smoltcp` drives.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use virtio_drivers::device::net::VirtIONetRaw;
use virtio_drivers::transport::{DeviceType, SomeTransport};

use super::apic::Trigger;
use super::virtio::KernelHal;

/// Descriptors per queue.
const QUEUE: usize = 64;
/// Receive buffer size: an Ethernet frame of 1514 bytes plus the virtio-net header.
const RX_BUF: usize = 2048;
/// The vector the device's interrupt raises.
pub const NET_VECTOR: u8 = 0x25;

/// The device's queues and the buffers lent to them, by descriptor token. Frames are sent without
/// waiting for the device (a synchronous send waited for QEMU's I/O thread on every frame): a
/// transmitted buffer is reclaimed once the device has used it.
struct Queues {
    raw: VirtIONetRaw<KernelHal, SomeTransport<'static>, QUEUE>,
    /// Receive buffers the device holds, by token.
    rx: Vec<Option<Vec<u8>>>,
    /// Transmitted frames not yet used by the device, by token.
    tx: Vec<Option<Vec<u8>>>,
    /// The size of the virtio-net header in front of every frame.
    hdr: usize,
}

/// A virtio-net device.
pub struct NetDevice {
    q: Queues,
    /// A received frame that `discard_rx` looked at and kept, handed out first by `receive`.
    stash: Option<Vec<u8>>,
}

/// A virtio-net device found, not started yet.
pub struct Found {
    transport: SomeTransport<'static>,
    /// The I/O APIC input of its interrupt (`u32::MAX`: none; the stack is polled anyway).
    pub irq: u32,
    /// Where it is, for messages.
    place: alloc::string::String,
}

/// I/O APIC inputs (bit n: GSI n) that carry a level-triggered interrupt: PCI INTx lines.
static LEVEL_GSIS: AtomicU32 = AtomicU32::new(0);

/// The first virtio-net device: among the command line's virtio-mmio tokens, else on PCI.
pub fn probe(tokens: &[Vec<u8>]) -> Option<Found> {
    probe_mmio(tokens).or_else(probe_pci)
}

fn probe_pci() -> Option<Found> {
    let d = super::pci::find_virtio(DeviceType::Network)?;
    let irq = d.irq.unwrap_or(u32::MAX);
    if irq < 32 {
        // PIIX's PCI interrupt links are level-triggered, active high (as QEMU's ACPI tables say).
        LEVEL_GSIS.fetch_or(1 << irq, Ordering::Relaxed);
    }
    Some(Found {
        transport: d.transport.into(),
        irq,
        place: alloc::format!("PCI {}", d.function),
    })
}

fn probe_mmio(tokens: &[Vec<u8>]) -> Option<Found> {
    let (transport, slot, irq) = super::virtio::find_mmio(tokens, DeviceType::Network)?;
    Some(Found {
        transport: transport.into(),
        irq,
        place: alloc::format!("{:#x}", slot.addr),
    })
}

/// Start the device (its queues are large: call this on a roomy stack, not the boot stack).
#[inline(never)]
pub fn start(found: Found) -> Option<Box<NetDevice>> {
    let fail = |e: virtio_drivers::Error| {
        crate::log(&alloc::format!(
            "nutshell: virtio-net at {}: {e:?}",
            found.place
        ));
    };
    let raw = match VirtIONetRaw::<KernelHal, _, QUEUE>::new(found.transport) {
        Ok(raw) => raw,
        Err(e) => {
            fail(e);
            return None;
        }
    };
    let mut probe = [0u8; 32];
    let hdr = raw.fill_buffer_header(&mut probe).unwrap_or(12);
    let mut q = Queues {
        raw,
        rx: (0..QUEUE).map(|_| None).collect(),
        tx: (0..QUEUE).map(|_| None).collect(),
        hdr,
    };
    for _ in 0..QUEUE {
        if let Err(e) = q.lend_rx(alloc::vec![0u8; RX_BUF]) {
            fail(e);
            return None;
        }
    }
    Some(Box::new(NetDevice { q, stash: None }))
}

impl Queues {
    /// Give `buf` to the device to receive into.
    fn lend_rx(&mut self, mut buf: Vec<u8>) -> Result<(), virtio_drivers::Error> {
        // SAFETY: the buffer's heap block is kept in `self.rx` (moving the Vec does not move it) and
        // not touched until the device hands the token back in `next_frame`.
        let token = unsafe { self.raw.receive_begin(&mut buf)? };
        self.rx[usize::from(token)] = Some(buf);
        Ok(())
    }

    /// Take back the frames the device has sent.
    fn reclaim_tx(&mut self) {
        while let Some(token) = self.raw.poll_transmit() {
            let Some(buf) = self.tx[usize::from(token)].take() else {
                return;
            };
            // SAFETY: `buf` is the buffer passed to `transmit_begin` for this token.
            let _ = unsafe { self.raw.transmit_complete(token, &buf) };
        }
    }

    fn can_send(&mut self) -> bool {
        self.reclaim_tx();
        self.raw.can_send()
    }

    /// Send a frame of `len` bytes that `fill` writes.
    fn send<R>(&mut self, len: usize, fill: impl FnOnce(&mut [u8]) -> R) -> R {
        let mut buf = alloc::vec![0u8; self.hdr + len];
        let _ = self.raw.fill_buffer_header(&mut buf);
        let r = fill(&mut buf[self.hdr..]);
        self.reclaim_tx();
        // SAFETY: the buffer's heap block is kept in `self.tx` until `reclaim_tx` sees the device
        // has used it; nothing writes it meanwhile.
        match unsafe { self.raw.transmit_begin(&buf) } {
            Ok(token) => self.tx[usize::from(token)] = Some(buf),
            Err(e) => crate::log_at(
                crate::LOG_DEBUG,
                &alloc::format!("nutshell: virtio-net send: {e:?}"),
            ),
        }
        r
    }
}

impl NetDevice {
    pub fn mac(&self) -> [u8; 6] {
        self.q.raw.mac_address()
    }

    /// Acknowledge the device's interrupt (it lowers its line). A shared level-triggered line that some
    /// other device keeps high would interrupt again after every EOI: after many interrupts in a row that
    /// were not this device's, the line is masked and the stack lives on polling alone.
    pub fn ack_interrupt(&mut self) {
        if !self.q.raw.ack_interrupt().is_empty() {
            FOREIGN_IRQS.store(0, Ordering::Relaxed);
        } else if FOREIGN_IRQS.fetch_add(1, Ordering::Relaxed) == FOREIGN_IRQ_LIMIT {
            let gsi = ROUTED_GSI.load(Ordering::Relaxed);
            if gsi < 24 {
                super::apic::route_irq(gsi, NET_VECTOR, Trigger::Masked);
                crate::log(&alloc::format!(
                    "nutshell: virtio-net: IRQ {gsi} keeps firing for another device; polling instead"
                ));
            }
        }
    }

    pub fn enable_interrupts(&mut self) {
        self.q.raw.enable_interrupts();
    }

    /// The next received frame, copied out (its buffer goes straight back to the device).
    fn next_frame(&mut self) -> Option<Vec<u8>> {
        let token = self.q.raw.poll_receive()?;
        let mut buf = self.q.rx[usize::from(token)].take()?;
        // SAFETY: `buf` is the buffer lent for this token in `lend_rx`.
        let done = unsafe { self.q.raw.receive_complete(token, &mut buf) };
        let frame = done
            .ok()
            .and_then(|(hdr, len)| buf.get(hdr..hdr + len).map(<[u8]>::to_vec));
        if let Err(e) = self.q.lend_rx(buf) {
            crate::log_at(
                crate::LOG_DEBUG,
                &alloc::format!("nutshell: virtio-net receive: {e:?}"),
            );
        }
        frame
    }

    /// Drop received frames while `unwanted` says so; the first wanted one is kept for `receive`.
    pub fn discard_rx(&mut self, unwanted: impl Fn(&[u8]) -> bool) {
        loop {
            let Some(frame) = self.stash.take().or_else(|| self.next_frame()) else {
                return;
            };
            if !unwanted(&frame) {
                self.stash = Some(frame);
                return;
            }
        }
    }
}

/// Another device on the same line claimed the interrupt: it was not foreign after all.
pub fn not_foreign() {
    FOREIGN_IRQS.store(0, Ordering::Relaxed);
}

/// The I/O APIC input `route_irq` programmed.
static ROUTED_GSI: AtomicU32 = AtomicU32::new(u32::MAX);
/// Interrupts in a row that were not the device's, and how many are tolerated.
static FOREIGN_IRQS: AtomicU32 = AtomicU32::new(0);
const FOREIGN_IRQ_LIMIT: u32 = 100_000;

/// Route I/O APIC input `gsi` to this CPU as `NET_VECTOR`, active high. virtio-mmio: edge (the handler
/// acknowledges the device, so its line falls and the next event is a new edge). PCI INTx: level (the
/// handler acknowledges the device before the EOI, which lowers the line; an event arriving between the
/// acknowledgement and the EOI keeps the line high, and the I/O APIC delivers it again after the EOI).
pub fn route_irq(gsi: u32) {
    if gsi >= 24 {
        return;
    }
    let level = LEVEL_GSIS.load(Ordering::Relaxed) & (1 << gsi) != 0;
    ROUTED_GSI.store(gsi, Ordering::Relaxed);
    let trigger = if level { Trigger::Level } else { Trigger::Edge };
    super::apic::route_irq(gsi, NET_VECTOR, trigger);
}

/// A received frame, copied out of the device's buffer (which goes straight back to the device).
pub struct RxToken(Vec<u8>);

/// Room to send one frame.
pub struct TxToken<'a>(&'a mut Queues);

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        self.0.send(len, f)
    }
}

impl Device for NetDevice {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _t: Instant) -> Option<(RxToken, TxToken<'_>)> {
        let frame = match self.stash.take() {
            Some(f) => f,
            None => self.next_frame()?,
        };
        Some((RxToken(frame), TxToken(&mut self.q)))
    }

    fn transmit(&mut self, _t: Instant) -> Option<TxToken<'_>> {
        if self.q.can_send() {
            Some(TxToken(&mut self.q))
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
