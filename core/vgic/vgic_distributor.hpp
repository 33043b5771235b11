// The GICv3 distributor a partition sees (64 KiB frame at a guest address): emulated
// register by register over the SPIs the partition owns. Everything else is invisible:
// an SPI the partition does not own reads as zero and ignores writes, so a partition
// sees and can touch only its own interrupts.
//
// Security model: one security state, GICD_CTLR.DS = 1 (as KVM presents it). Bit 0 is
// EnableGrp0, bit 1 EnableGrp1, ARE (bit 4) and DS (bit 6) read as one. Linux's write
// of ARE_NS | EnableGrp1A | EnableGrp1 (0x13) therefore enables both groups.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/lib/unset_array.hpp"
#include "core/vgic/interrupt.hpp"

namespace bulkhead::vgic {

// An SPI given to the partition. Hardware-backed ones keep their physical INTID.
struct OwnedSpi {
  uint16_t intid = 0;     // 32..1019
  bool hardware = false;  // backed by the physical SPI with the same INTID
  bool edge = false;      // trigger at reset (from the description); the guest may change it
};

// The SPIs a partition's MSIs arrive as: INTIDs [first, first + count). Each is a
// virtual, edge-triggered SPI the partition owns; a write of its INTID to
// GICD_SETSPI_NSR makes it pending (GICv3 message-based SPIs, GICD_TYPER.MBIS).
struct MessageRange {
  uint16_t first = 0;
  uint16_t count = 0;  // 0: none (GICD_TYPER.MBIS reads 0)
  bool contains(uint32_t intid) const { return intid >= first && intid - first < count; }
};

struct DistributorConfig {
  uint8_t vcpu_count = 1;     // 1..16; guest MPIDR affinity = vCPU index (Aff0)
  uint8_t priority_bits = 5;  // implemented priority bits: Cortex-A57's ICH_VTR_EL2.PRIbits + 1
  const OwnedSpi* spis = nullptr;
  size_t spi_count = 0;
  MessageRange messages;  // owned besides `spis`, which must not list them
};

enum class ConfigError : uint8_t { none, bad_vcpu_count, bad_priority_bits, too_many_spis, spi_out_of_range, duplicate_spi };
const char* config_error_name(ConfigError error);


class VirtualDistributor {
 public:
  static constexpr uint64_t frame_size = gicd::frame_size;

  // Takes the partition's SPIs and resets. On error the distributor owns nothing.
  ConfigError configure(const DistributorConfig& config);
  // Architectural reset state: everything disabled, inactive, not pending, group 1,
  // priority 0, routed to vCPU 0, GICD_CTLR groups disabled. Lines of virtual devices
  // keep their level (the devices are reset separately).
  void reset();

  // Guest accesses at `offset` within the frame; width 1, 2, 4 or 8 bytes.
  AccessResult read(uint64_t offset, unsigned width, uint64_t& value) const;
  AccessResult write(uint64_t offset, unsigned width, uint64_t value, Events& events);

  // The owned SPI with this INTID, or nullptr (unowned or not an SPI).
  InterruptState* spi(uint32_t intid);
  const InterruptState* spi(uint32_t intid) const;
  size_t spi_count() const { return spi_count_; }
  InterruptState& spi_at(size_t slot) { return spis_[slot]; }
  const InterruptState& spi_at(size_t slot) const { return spis_[slot]; }

  const MessageRange& messages() const { return messages_; }
  // The owned message-based SPI with this INTID, or nullptr.
  InterruptState* message_spi(uint32_t intid) {
    InterruptState* irq = messages_.contains(intid) ? spi(intid) : nullptr;
    return irq != nullptr && irq->message ? irq : nullptr;
  }

  bool group_enabled(bool group1) const { return (ctlr_ & (group1 ? gicd::ctlr_enable_grp1 : gicd::ctlr_enable_grp0)) != 0; }
  uint8_t vcpu_count() const { return vcpu_count_; }
  uint8_t priority_mask() const { return priority_mask_; }
  // Where the pending state of hardware-backed SPIs is read besides the virtual state.
  void set_physical(const PhysicalInterrupts* physical) { physical_ = physical; }
  uint32_t typer() const;

  // The vCPU an IROUTER value designates: Aff0 = vCPU index with Aff1..Aff3 zero. IRM = 1
  // ("any participating PE") always picks vCPU 0: a legal 1-of-N choice that keeps
  // routing deterministic. Returns `no_vcpu` for an affinity no vCPU has (the interrupt
  // is then not delivered, as the architecture says). A write sets `routed_vcpu` and
  // `target_vcpu`; VirtualGic keeps the old target while that vCPU holds the SPI.
  static constexpr uint8_t no_vcpu = InterruptState::no_vcpu;
  uint8_t vcpu_of_router(uint64_t router) const;

 private:
  size_t slot_of(uint32_t intid) const;  // max_owned_spis when not owned
  [[gnu::always_inline]] inline AccessResult read_word(uint64_t offset, uint32_t& value) const;
  AccessResult write_word(uint64_t offset, uint32_t value, Events& events);
  AccessResult write_message(uint64_t offset, uint32_t value, Events& events);
  void write_router(InterruptState& irq, uint64_t router, Events& events);

  static constexpr uint8_t unowned = 0xff;
  // Slot i is written by configure() when it owns i < spi_count_, and nothing reaches a
  // slot at or past spi_count_ (slot_of()): not constructed (core/lib/unset_array.hpp).
  UnsetArray<InterruptState, max_owned_spis> spis_;
  size_t spi_count_ = 0;
  uint8_t slot_of_[last_spi + 1 - first_spi] = {};  // INTID - 32 -> index in spis_, or `unowned`
  uint32_t highest_spi_ = 0;
  MessageRange messages_;
  const PhysicalInterrupts* physical_ = nullptr;
  uint32_t ctlr_ = 0;
  uint8_t vcpu_count_ = 1;
  uint8_t priority_mask_ = 0xf8;
};

}  // namespace bulkhead::vgic
