// What every partition sees at fixed guest-physical addresses, and where the payloads
// go in its RAM. The build-time rules check descriptions against this layout and the
// boot-time builder uses the same constants, so the two cannot disagree.
//
// The layout follows QEMU `virt` (low ECAM variant), so guests find familiar addresses:
//   0x0800_0000 +64 KiB       GICv3 distributor (virtual)
//   0x0809_0000 +4 KiB        the ITS doorbell, in the partition's DMA context only (MSIs)
//   0x080a_0000 +0xf6_0000    GICv3 redistributors (virtual, 128 KiB per vCPU)
//   0x0900_0000 +4 KiB        PL011 UART (virtual)
//   0x1000_0000 +0x2eff_0000  virtual PCI 32-bit memory window
//   0x3eff_0000 +64 KiB       virtual PCI I/O window (I/O ports 0..0xffff)
//   0x3f00_0000 +16 MiB       virtual PCI ECAM (bus 0 used; 16 buses reserved)
//   0x80_0000_0000 +512 GiB   virtual PCI 64-bit prefetchable memory window
// Passed-through platform devices (e.g. the PL031) appear at their host addresses.
// All of it is reserved in every partition, whatever it uses, so adding a PCI device
// or a console never moves anything.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/arch/aarch64/gic_registers.hpp"
#include "core/platform/platform.hpp"

namespace bulkhead::partitions {

constexpr uint64_t mib = uint64_t{1} << 20;
constexpr uint64_t ram_alignment = 2 * mib;  // host and guest bases and sizes: one stage-2 block
constexpr uint64_t default_guest_ram_base = 0x40000000;
// Guest addresses stay below 2^40 (1 TiB): a 40-bit IPA space, as Cortex-A53/A57/A72
// implement (QEMU's cortex-a57 has 44 bits) and a 3-level, 4 KiB-granule stage 2
// covers. The boot-time builder must still check ID_AA64MMFR0_EL1.PARange.
constexpr uint64_t guest_address_limit = uint64_t{1} << 40;

struct GuestRegion {
  const char* name;
  AddressRange range;
};

constexpr GuestRegion guest_gic_distributor{"GIC distributor", {0x08000000, 0x10000}};
constexpr GuestRegion guest_gic_redistributors{"GIC redistributors", {0x080a0000, 0xf60000}};
constexpr GuestRegion guest_uart{"virtual UART", {0x09000000, 0x1000}};
constexpr GuestRegion guest_pci_mmio32{"virtual PCI 32-bit window", {0x10000000, 0x2eff0000}};
constexpr GuestRegion guest_pci_io{"virtual PCI I/O window", {0x3eff0000, 0x10000}};  // port 0 at its base
constexpr GuestRegion guest_pci_ecam{"virtual PCI ECAM", {0x3f000000, 0x01000000}};
constexpr GuestRegion guest_pci_mmio64{"virtual PCI 64-bit window", {0x8000000000, 0x8000000000}};
constexpr GuestRegion fixed_guest_regions[] = {guest_gic_distributor, guest_gic_redistributors, guest_uart,
                                               guest_pci_mmio32,      guest_pci_io,             guest_pci_ecam,
                                               guest_pci_mmio64};
// QEMU virt's arrangement: the I/O window fills the gap between the 32-bit window and the ECAM.
static_assert(guest_pci_mmio32.range.base + guest_pci_mmio32.range.size == guest_pci_io.range.base &&
                  guest_pci_io.range.base + guest_pci_io.range.size == guest_pci_ecam.range.base,
              "the PCI regions are contiguous and disjoint");
constexpr uint64_t redistributor_stride = 0x20000;  // RD_base + SGI_base frames per vCPU

// MSIs. The guest programs its functions with the address of its virtual GICD_SETSPI_NSR;
// the functions themselves are programmed with GITS_TRANSLATER as the partition's DMA
// context maps it: the ITS's translation page at this IOVA (where QEMU virt has its ITS's,
// in the gap between the distributor and the redistributors). Only the DMA context maps
// it; the CPU's stage 2 has nothing there.
constexpr uint64_t guest_gicd_setspi_nsr = guest_gic_distributor.range.base + arch::gicd::setspi_nsr;
constexpr GuestRegion guest_its_doorbell_page{"ITS doorbell (DMA only)", {0x08090000, 0x1000}};
static_assert(guest_gic_distributor.range.base + guest_gic_distributor.range.size <= guest_its_doorbell_page.range.base &&
                  guest_its_doorbell_page.range.base + guest_its_doorbell_page.range.size <=
                      guest_gic_redistributors.range.base,
              "the doorbell page lies between the distributor and the redistributors");

// Payload placement inside a partition's RAM (guest-physical addresses):
// - the kernel (or raw binary) at ram base + load offset, occupying load_size bytes
//   (a Linux Image's image_size, which covers its BSS; a raw binary's file size);
// - the generated guest device tree in the last 2 MiB (Linux's maximum DTB size);
// - the initrd right below the device tree, 4 KiB aligned.
// The boot-time builder places payloads exactly here; the build-time `payload-fits`
// rule checks that nothing overlaps.
constexpr uint64_t guest_dtb_reserve = 2 * mib;
constexpr uint64_t initrd_alignment = 0x1000;

struct PayloadPlacement {
  bool fits = false;
  uint64_t kernel_base = 0;
  uint64_t kernel_end = 0;
  uint64_t initrd_base = 0;  // == initrd_end when there is no initrd
  uint64_t initrd_end = 0;
  uint64_t dtb_base = 0;
};

constexpr PayloadPlacement place_payloads(uint64_t ram_base, uint64_t ram_size, uint64_t load_offset,
                                          uint64_t load_size, uint64_t initrd_size) {
  PayloadPlacement placement;
  if (ram_size < guest_dtb_reserve || ram_base > UINT64_MAX - ram_size) return placement;
  placement.dtb_base = ram_base + ram_size - guest_dtb_reserve;
  placement.initrd_end = placement.dtb_base;
  const uint64_t below_dtb = ram_size - guest_dtb_reserve;
  if (initrd_size > below_dtb) return placement;
  placement.initrd_base = (placement.dtb_base - initrd_size) & ~(initrd_alignment - 1);
  if (placement.initrd_base < ram_base) return placement;  // only when ram_base is unaligned
  const uint64_t room = placement.initrd_base - ram_base;
  if (load_offset > room || load_size > room - load_offset) return placement;
  placement.kernel_base = ram_base + load_offset;
  placement.kernel_end = placement.kernel_base + load_size;
  placement.fits = true;
  return placement;
}

}  // namespace bulkhead::partitions
