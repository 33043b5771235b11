// What the vPCI emulator needs from the machine. The emulator decides; it never touches
// hardware or page tables itself. The target implements this with its ECAM accessors,
// the partition's stage-2 tables and its log; unit tests and the fuzzer record every call.
#pragma once

#include <cstdint>

#include "pci/config_access.hpp"
#include "pci/topology.hpp"

namespace bulkhead::pci::vpci {

class VpciHost {
 public:
  // Physical configuration space of a function the partition owns (its segment's
  // accessor at function.segment_index). Offsets are naturally aligned. The emulator
  // writes only the command register's decode/bus-master/INTx-disable bits, the RW1C
  // status bits and the safe PCI Express Device Control/Status bits; its MSI and MSI-X
  // handlers (msi.hpp, msix.hpp) also write those capabilities' registers, with the ITS
  // doorbell and the router's events only.
  virtual uint32_t config_read(const Function& function, uint16_t offset, AccessWidth width) = 0;
  virtual void config_write(const Function& function, uint16_t offset, AccessWidth width, uint32_t value) = 0;

  // The partition's stage 2: device memory (nGnRE), guest [guest, guest + size) onto host
  // [host, host + size); all three are 4 KiB multiples and the guest range is free.
  // Returns false when it could not (e.g. no table memory left); nothing is mapped then.
  virtual bool map_mmio(uint64_t guest, uint64_t host, uint64_t size) = 0;
  // Removes exactly one earlier map_mmio() range and invalidates the partition's TLB
  // entries for it (on every CPU) before returning.
  virtual void unmap_mmio(uint64_t guest, uint64_t size) = 0;

  // The host bridge's I/O space at CPU physical `address` (inside one of the function's
  // I/O BARs; naturally aligned).
  virtual uint32_t io_read(uint64_t address, AccessWidth width) = 0;
  virtual void io_write(uint64_t address, AccessWidth width, uint32_t value) = 0;

  // Whether the function may master DMA now: its stream points at the partition's DMA
  // context (smmu/). Until then the guest's bus-master bit stays virtual.
  virtual bool bus_master_allowed(const Function& function) = 0;

  // One complete fact, without the "bulkhead: " prefix. The emulator logs each kind of
  // event at most once per function or BAR until a reset, so a guest cannot flood it.
  virtual void log(const char* line) = 0;

 protected:
  ~VpciHost() = default;
};

}  // namespace bulkhead::pci::vpci
