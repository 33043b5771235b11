// The device tree a partition's guest boots with: a QEMU-`virt`-like machine made of
// the partition's vCPUs, its RAM, the virtual GICv3, the architected timer, PSCI over
// HVC, the virtual PL011 (when it has a console), its passed-through platform devices,
// the virtual PCI host bridge (when it owns PCI functions) and /chosen (bootargs,
// initrd, stdout-path). Addresses come from guest_layout.hpp.
//
// Portable and heap-free: libfdt's sequential-write API into a caller-provided buffer.
// The output is a pure function of the input (no seeds, no timestamps), so the same
// description always yields the same bytes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/platform/platform.hpp"
#include "partitions/description.hpp"
#include "partitions/guest_layout.hpp"

namespace bulkhead::partitions {

// The virtual PL011's interrupt, as DTs number SPIs (INTID 33), the same as QEMU's UART.
constexpr uint32_t guest_uart_spi = 1;

// Fixed phandles, so the output never depends on generation order.
constexpr uint32_t guest_gic_phandle = 1;
constexpr uint32_t guest_clock_phandle = 2;

// A PCI function's INTx in the guest's `interrupt-map`: (virtual slot, pin) -> SPI.
struct GuestPciInterrupt {
  uint8_t slot = 0;    // 1..31: the function is 00:slot.0
  uint8_t pin = 0;     // 1..4 = INTA..INTD
  uint32_t spi = 0;    // as DTs number SPIs; the physical line, given to the guest as the same SPI
  uint32_t flags = 0;  // DT trigger flags: 4 level high (INTx), 1 edge rising
};

struct GuestDtInput {
  const Partition* partition = nullptr;  // resolved: CPUs, RAM, payload, platform devices
  PayloadPlacement placement;            // guest-physical; initrd_base/initrd_end used with an initrd
  TimerInfo timer;                       // the firmware's timer PPIs, passed on to the guest
  uint32_t uart_spi = guest_uart_spi;
  // Describe the virtual PCI host bridge. Only when the hypervisor emulates it (vPCI):
  // a guest must never be told about a device that is not there.
  bool virtual_pci = false;
  // Describe the partition's message-based SPIs (its msi_spis range): the GIC node gets
  // `msi-controller` and `mbi-ranges`, the PCI host bridge `msi-parent`. Only when the
  // hypervisor's virtual GIC implements them for this partition (GICD_TYPER.MBIS,
  // GICD_SETSPI_NSR) and MSIs are routed to them.
  bool message_interrupts = false;
  // The INTx lines of the partition's functions (legacy-intx allowed), for the bridge's
  // interrupt-map; none: no interrupt-map.
  GuestPciInterrupt pci_interrupts[max_pci_devices];
  size_t pci_interrupt_count = 0;
};

struct GuestDtError {
  char message[160] = {};
};

// Writes the guest's DTB into `buffer` (8-byte aligned; at most guest_dtb_reserve of
// `capacity` is used) and sets `size` to its total size. Returns false with a message
// naming the partition when the input is inconsistent or the tree does not fit.
bool write_guest_dt(const GuestDtInput& input, void* buffer, size_t capacity, size_t& size, GuestDtError& error);

}  // namespace bulkhead::partitions
