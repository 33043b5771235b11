// What the MSI and MSI-X emulation (msi.hpp, msix.hpp) needs besides VpciHost: where a
// partition's guest may send messages (its virtual GICD_SETSPI_NSR, its MBI SPIs), the
// router that turns a physical vector into one of those SPIs (an ITS event mapped to an
// LPI on the right CPU; partitions/msi_routing.hpp implements it), and the function's
// BARs as the hypervisor reaches them (the MSI-X table and PBA). Portable interfaces.
#pragma once

#include <cstdint>

#include "pci/config_access.hpp"
#include "pci/topology.hpp"
#include "pci/vpci/vpci_host.hpp"

namespace bulkhead::pci::vpci {

enum class MessageKind : uint8_t { msi, msix };
const char* message_kind_name(MessageKind kind);

// The only messages a guest's functions may send: its virtual GICD_SETSPI_NSR with the
// INTID of one of its message-based SPIs as data (GICv3 MBIs, the guest's mbi-ranges).
struct GuestMessageTarget {
  uint64_t doorbell = 0;    // guest-physical address of its virtual GICD_SETSPI_NSR
  uint32_t first_spi = 0;   // INTIDs [first_spi, first_spi + spi_count)
  uint32_t spi_count = 0;
  // The SPI (INTID) a guest's message raises, or 0 when it is not one of these.
  uint32_t spi_of(uint64_t address, uint32_t data) const {
    return address == doorbell && data >= first_spi && data - first_spi < spi_count ? data : 0;
  }
};

// What a physical vector is programmed with: the ITS doorbell (GITS_TRANSLATER as the
// function's DMA context maps it) and an EventID the router allocated for the vector.
struct PhysicalMessage {
  bool ok = false;
  uint64_t address = 0;
  uint32_t data = 0;
};

class MsiRouter {
 public:
  // Vector `vector` of the function's MSI or MSI-X capability now raises guest SPI `spi`
  // (an INTID of the partition's MBI range): its event is mapped to an LPI on the CPU
  // running the vCPU `spi` targets, delivered as `spi`. Called again with another SPI to
  // change it. For MSI, the event of vector i is the event of vector 0 plus i (the
  // function adds the vector number to the data). ok false: no translation was made
  // (the router logged why); the vector must stay masked.
  virtual PhysicalMessage bind(const Function& function, MessageKind kind, uint16_t vector, uint32_t spi) = 0;
  // The vector raises nothing any more: its translation is removed (its LPI's pending
  // state with it). The caller masked or disabled it first.
  virtual void unbind(const Function& function, MessageKind kind, uint16_t vector) = 0;

 protected:
  ~MsiRouter() = default;
};

// The function's memory BARs as the hypervisor reaches them: CPU physical addresses
// inside one of its BARs (the MSI-X table, the PBA, registers sharing their pages),
// naturally aligned. The function must decode memory for the access to reach it.
class BarAccess {
 public:
  virtual uint32_t bar_read(uint64_t address, AccessWidth width) = 0;
  virtual void bar_write(uint64_t address, AccessWidth width, uint32_t value) = 0;

 protected:
  ~BarAccess() = default;
};

// One function's MSI or MSI-X emulation.
struct MessageSetup {
  const char* partition = "";       // its name, for log lines; must outlive the handler
  const Function* function = nullptr;
  uint8_t slot = 0;                 // its slot on the virtual bus
  GuestMessageTarget target;
  VpciHost* host = nullptr;         // physical config space, log
  BarAccess* bars = nullptr;        // MSI-X only
  MsiRouter* router = nullptr;
};

}  // namespace bulkhead::pci::vpci
