//! The console on virtio-serial: QEMU's `virtio-serial-device` (microvm, virtio-mmio) or
//! `virtio-serial-pci` (pc), with one `virtserialport` as port 1 carrying the console stream.
//!
//! Port 1, not the `virtconsole` on port 0: QEMU drops a virtconsole's output when its chardev is
//! full, while a virtserialport holds the buffer until the host has read it. So the driver negotiates
//! `VIRTIO_CONSOLE_F_MULTIPORT`, sends `DEVICE_READY` and `PORT_OPEN` for port 1 on the control queue,
//! and uses port 1's queues: output in whole buffers (one notification each, then a wait until QEMU
//! has written it to the socket), input into a few 4 KiB buffers the interrupt handler drains.

use alloc::boxed::Box;
use alloc::vec::Vec;

use virtio_drivers::queue::VirtQueue;
use virtio_drivers::transport::{DeviceStatus, DeviceType, SomeTransport, Transport};

use super::apic::Trigger;
use super::virtio::KernelHal;

/// The vector the device's interrupt raises.
pub const CONSOLE_VECTOR: u8 = 0x26;
/// Bytes of output gathered per notification.
pub const TX_BUF: usize = 64 << 10;
const RX_BUFS: usize = 4;
const RX_BUF: usize = 4096;

const F_MULTIPORT: u64 = 1 << 1;
const F_VERSION_1: u64 = 1 << 32;
/// Queues: control transmit (driver → device), port 1 receive and transmit.
const CONTROL_TX: u16 = 3;
const PORT1_RX: u16 = 4;
const PORT1_TX: u16 = 5;
/// Control events.
const DEVICE_READY: u16 = 0;
const PORT_OPEN: u16 = 6;
/// The port the console uses.
const PORT: u32 = 1;

/// A started virtio-serial console.
pub struct VirtioConsole {
    transport: SomeTransport<'static>,
    /// The control queue: set up for good, used only at the start.
    _ctl: VirtQueue<KernelHal, 2>,
    rxq: VirtQueue<KernelHal, RX_BUFS>,
    txq: VirtQueue<KernelHal, 2>,
    rx: Box<[[u8; RX_BUF]; RX_BUFS]>,
    /// The token of each receive buffer while the device holds it.
    rx_token: [Option<u16>; RX_BUFS],
    tx: Box<[u8; TX_BUF]>,
    tx_len: usize,
    /// The I/O APIC input of its interrupt (`u32::MAX`: none).
    pub irq: u32,
    level: bool,
}

fn probe_mmio(tokens: &[Vec<u8>]) -> Option<(SomeTransport<'static>, u32, bool)> {
    let (transport, _, irq) = super::virtio::find_mmio(tokens, DeviceType::Console)?;
    Some((transport.into(), irq, false))
}

fn probe_pci() -> Option<(SomeTransport<'static>, u32, bool)> {
    let d = super::pci::find_virtio(DeviceType::Console)?;
    Some((d.transport.into(), d.irq.unwrap_or(u32::MAX), true))
}

/// Find a virtio-serial device (virtio-mmio tokens of the command line, else PCI) and start port 1.
pub fn start(tokens: &[Vec<u8>]) -> Option<Box<VirtioConsole>> {
    let (mut t, irq, level) = probe_mmio(tokens).or_else(probe_pci)?;
    t.set_status(DeviceStatus::empty());
    t.set_status(DeviceStatus::ACKNOWLEDGE | DeviceStatus::DRIVER);
    let offered = t.read_device_features();
    if offered & F_MULTIPORT == 0 {
        crate::log("nutshell: virtio-serial without multiport: using COM1");
        t.set_status(DeviceStatus::FAILED);
        return None;
    }
    t.write_driver_features(offered & (F_MULTIPORT | F_VERSION_1));
    t.set_status(DeviceStatus::ACKNOWLEDGE | DeviceStatus::DRIVER | DeviceStatus::FEATURES_OK);
    t.set_guest_page_size(4096);
    let queues = (
        VirtQueue::<KernelHal, 2>::new(&mut t, CONTROL_TX, false, false),
        VirtQueue::<KernelHal, RX_BUFS>::new(&mut t, PORT1_RX, false, false),
        VirtQueue::<KernelHal, 2>::new(&mut t, PORT1_TX, false, false),
    );
    let (Ok(mut ctl), Ok(rxq), Ok(mut txq)) = queues else {
        crate::log("nutshell: virtio-serial: cannot set up the queues: using COM1");
        t.set_status(DeviceStatus::FAILED);
        return None;
    };
    t.finish_init();
    // Output is waited for by polling: no interrupt for used transmit buffers.
    txq.set_dev_notify(false);
    ctl.set_dev_notify(false);
    let mut dev = Box::new(VirtioConsole {
        transport: t,
        _ctl: ctl,
        rxq,
        txq,
        rx: Box::new([[0; RX_BUF]; RX_BUFS]),
        rx_token: [None; RX_BUFS],
        tx: Box::new([0; TX_BUF]),
        tx_len: 0,
        irq,
        level,
    });
    for (id, event) in [(0, DEVICE_READY), (PORT, PORT_OPEN)] {
        let mut msg = Box::new([0u8; 8]);
        msg[..4].copy_from_slice(&id.to_le_bytes());
        msg[4..6].copy_from_slice(&event.to_le_bytes());
        msg[6..8].copy_from_slice(&1u16.to_le_bytes());
        if dev
            ._ctl
            .add_notify_wait_pop(&[&msg[..]], &mut [], &mut dev.transport)
            .is_err()
        {
            crate::log("nutshell: virtio-serial: control message failed: using COM1");
            return None;
        }
    }
    for i in 0..RX_BUFS {
        dev.post_rx(i);
    }
    Some(dev)
}

impl VirtioConsole {
    fn post_rx(&mut self, i: usize) {
        // SAFETY: the buffer is in the device's box, which lives as long as the queue; it is not
        // touched again until the device returns it (`take_input` pops it by this token).
        let token = unsafe { self.rxq.add(&[], &mut [&mut self.rx[i][..]]) };
        if let Ok(token) = token {
            self.rx_token[i] = Some(token);
            if self.rxq.should_notify() {
                self.transport.notify(PORT1_RX);
            }
        }
    }

    /// Queue bytes for output; full buffers go out at once.
    pub fn write(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let n = data.len().min(TX_BUF - self.tx_len);
            self.tx[self.tx_len..self.tx_len + n].copy_from_slice(&data[..n]);
            self.tx_len += n;
            data = &data[n..];
            if self.tx_len == TX_BUF {
                self.flush();
            }
        }
    }

    /// Send what `write` gathered, in one buffer, and wait until QEMU has passed it on.
    pub fn flush(&mut self) {
        if self.tx_len == 0 {
            return;
        }
        let len = self.tx_len;
        self.tx_len = 0;
        let inputs: [&[u8]; 1] = [&self.tx[..len]];
        // SAFETY: the buffer stays untouched until the device has returned it (popped below).
        let Ok(token) = (unsafe { self.txq.add(&inputs, &mut []) }) else {
            return;
        };
        if self.txq.should_notify() {
            self.transport.notify(PORT1_TX);
        }
        while !self.txq.can_pop() {
            core::hint::spin_loop();
        }
        // SAFETY: the buffer `add` was given with this token.
        let _ = unsafe { self.txq.pop_used(token, &inputs, &mut []) };
    }

    /// Acknowledge the device's interrupt; whether it had raised one.
    pub fn ack_interrupt(&mut self) -> bool {
        !self.transport.ack_interrupt().is_empty()
    }

    /// Hand every received buffer to `f`, then give it back to the device.
    pub fn take_input(&mut self, mut f: impl FnMut(&[u8])) {
        while let Some(token) = self.rxq.peek_used() {
            let Some(i) = self.rx_token.iter().position(|t| *t == Some(token)) else {
                return;
            };
            // SAFETY: the same buffer `post_rx` added with this token.
            let len = unsafe { self.rxq.pop_used(token, &[], &mut [&mut self.rx[i][..]]) };
            self.rx_token[i] = None;
            if let Ok(len) = len {
                f(&self.rx[i][..(len as usize).min(RX_BUF)]);
            }
            self.post_rx(i);
        }
    }

    /// Route the device's interrupt to `CONSOLE_VECTOR` (edge for virtio-mmio, level for PCI INTx).
    pub fn route_irq(&self) {
        let trigger = if self.level {
            Trigger::Level
        } else {
            Trigger::Edge
        };
        super::apic::route_irq(self.irq, CONSOLE_VECTOR, trigger);
    }
}
