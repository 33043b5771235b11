#include "core/vgic/vgic_distributor.hpp"

#include "core/lib/runtime.hpp"

namespace bulkhead::vgic {

const char* config_error_name(ConfigError error) {
  switch (error) {
    case ConfigError::none: return "none";
    case ConfigError::bad_vcpu_count: return "bad-vcpu-count";
    case ConfigError::bad_priority_bits: return "bad-priority-bits";
    case ConfigError::too_many_spis: return "too-many-spis";
    case ConfigError::spi_out_of_range: return "spi-out-of-range";
    case ConfigError::duplicate_spi: return "duplicate-spi";
  }
  return "unknown";
}

namespace {
constexpr uint64_t irouter_first = gicd::irouter + uint64_t{8} * first_spi;
constexpr uint64_t irouter_end = gicd::irouter + uint64_t{8} * (last_spi + 1);
constexpr uint64_t id_registers_first = gic_id::first;
// GICD_TYPER fields.
constexpr uint32_t typer_idbits = (10u - 1) << gicd::typer_idbits_shift;  // INTIDs below 1024: no LPIs
}  // namespace

ConfigError VirtualDistributor::configure(const DistributorConfig& config) {
  spi_count_ = 0;
  highest_spi_ = 0;
  messages_ = MessageRange{};
  rt::fill(slot_of_, unowned, sizeof(slot_of_));
  if (config.vcpu_count == 0 || config.vcpu_count > max_vcpus) return ConfigError::bad_vcpu_count;
  if (config.priority_bits < 4 || config.priority_bits > 8) return ConfigError::bad_priority_bits;
  const MessageRange& range = config.messages;
  if (config.spi_count > max_owned_spis || range.count > max_owned_spis - config.spi_count) {
    return ConfigError::too_many_spis;
  }
  if (range.count != 0 && (range.first < first_spi || range.first + range.count - 1u > last_spi)) {
    return ConfigError::spi_out_of_range;
  }
  for (size_t i = 0; i < config.spi_count; ++i) {
    const uint32_t intid = config.spis[i].intid;
    if (intid < first_spi || intid > last_spi) return ConfigError::spi_out_of_range;
    if (range.contains(intid)) return ConfigError::duplicate_spi;
    for (size_t j = 0; j < i; ++j) {
      if (config.spis[j].intid == intid) return ConfigError::duplicate_spi;
    }
  }
  vcpu_count_ = config.vcpu_count;
  priority_mask_ = vgic::priority_mask(config.priority_bits);
  const auto own = [this](size_t slot, uint16_t intid, bool hardware, bool edge, bool message) {
    InterruptState& irq = spis_[slot];
    irq = InterruptState{};
    irq.intid = intid;
    irq.physical_intid = hardware ? intid : 0;
    irq.hardware = hardware;
    irq.edge_at_reset = edge;
    irq.message = message;
    slot_of_[intid - first_spi] = static_cast<uint8_t>(slot);
    if (intid > highest_spi_) highest_spi_ = intid;
  };
  for (size_t i = 0; i < config.spi_count; ++i) {
    own(i, config.spis[i].intid, config.spis[i].hardware, config.spis[i].edge, false);
  }
  // Message-based SPIs are edge-triggered: a message is an event, not a level (Linux's
  // MBI driver configures them rising-edge too).
  for (uint16_t i = 0; i < range.count; ++i) {
    own(config.spi_count + i, static_cast<uint16_t>(range.first + i), false, true, true);
  }
  spi_count_ = config.spi_count + range.count;
  messages_ = range;
  reset();
  return ConfigError::none;
}

void VirtualDistributor::reset() {
  ctlr_ = 0;
  for (size_t i = 0; i < spi_count_; ++i) {
    InterruptState& irq = spis_[i];
    irq.priority = 0;
    irq.group1 = true;  // Group 1 at reset, as KVM: a minimal guest only enables Group 1
    irq.edge = irq.edge_at_reset;
    irq.enabled = false;
    irq.pending_latch = false;
    irq.repend = false;
    irq.repend_line = false;
    irq.deactivate_at_fold = false;
    if (irq.hardware) irq.line_asserted = false;  // EL2 samples the physical line again
    irq.active = false;
    irq.router = 0;
    irq.target_vcpu = 0;
    irq.routed_vcpu = 0;
  }
}

size_t VirtualDistributor::slot_of(uint32_t intid) const {
  if (intid < first_spi || intid > last_spi) return max_owned_spis;
  const uint8_t slot = slot_of_[intid - first_spi];
  return slot < spi_count_ ? slot : max_owned_spis;
}

InterruptState* VirtualDistributor::spi(uint32_t intid) {
  const size_t slot = slot_of(intid);
  return slot < max_owned_spis ? &spis_[slot] : nullptr;
}

const InterruptState* VirtualDistributor::spi(uint32_t intid) const {
  const size_t slot = slot_of(intid);
  return slot < max_owned_spis ? &spis_[slot] : nullptr;
}

uint32_t VirtualDistributor::typer() const {
  // ITLinesNumber: SPIs up to 32 * (N + 1) - 1 cover the highest owned one; 0 = no SPIs.
  const uint32_t it_lines = highest_spi_ / 32;
  const uint32_t cpu_number = (vcpu_count_ > 8 ? 8u : vcpu_count_) - 1u;
  const uint32_t mbis = messages_.count != 0 ? gicd_message::typer_mbis : 0;
  return it_lines | (cpu_number << gicd::typer_cpu_number_shift) | mbis | typer_idbits;
}

uint8_t VirtualDistributor::vcpu_of_router(uint64_t router) const {
  if ((router & gicd::irouter_irm) != 0) return 0;
  const uint64_t upper_affinity = router & gicd::irouter_upper_affinity;
  const uint64_t aff0 = router & gicd::irouter_aff0;
  if (upper_affinity != 0 || aff0 >= vcpu_count_) return no_vcpu;
  return static_cast<uint8_t>(aff0);
}

void VirtualDistributor::write_router(InterruptState& irq, uint64_t router, Events& events) {
  irq.router = router & gicd::irouter_writable;
  const uint8_t target = vcpu_of_router(irq.router);
  irq.routed_vcpu = target;
  if (target == irq.target_vcpu) return;
  events.kick(irq.target_vcpu);  // withdraw it from the old vCPU's list registers
  irq.target_vcpu = target;
  events.kick(target);
  if (irq.message) events.rerouted_message_spi = irq.intid;  // its LPIs follow
  // A hardware SPI without a valid target keeps its physical routing; it stays latched.
  // (It cannot fire while the virtual one is pending or active: it is physically active.)
  if (irq.hardware && target != no_vcpu) events.add(HardwareRequest::route, target, irq.physical_intid);
}

inline AccessResult VirtualDistributor::read_word(uint64_t offset, uint32_t& value) const {
  value = 0;
  // The control and identification block first: the registers guests read most often.
  if (offset < gic_bank::igroupr) {
    switch (offset) {
      case gicd::ctlr: value = ctlr_ | gicd::ctlr_are | gicd::ctlr_ds; return AccessResult::handled;
      case gicd::typer: value = typer(); return AccessResult::handled;
      case gicd::iidr: value = gic_iidr; return AccessResult::handled;
      case gicd::typer2:
      case gicd::statusr: return AccessResult::handled;
      case gicd_message::setspi_nsr:
      case gicd_message::clrspi_nsr:
      case gicd_message::setspi_sr:
      case gicd_message::clrspi_sr:  // write-only
        return messages_.count != 0 ? AccessResult::handled : AccessResult::unhandled;
      default: return AccessResult::unhandled;
    }
  }
  BitRegister which{};
  uint32_t index = 0;
  if (bit_register_at(offset, which, index)) {
    for (uint32_t bit = 0; bit < 32; ++bit) {
      const InterruptState* irq = spi(index * 32 + bit);
      if (irq != nullptr && read_bit(*irq, which, physical_)) value |= 1u << bit;
    }
    return AccessResult::handled;
  }
  if (offset >= gic_bank::ipriorityr && offset < gicd::itargetsr) {
    for (uint32_t byte = 0; byte < 4; ++byte) {
      const InterruptState* irq = spi(static_cast<uint32_t>(offset - gic_bank::ipriorityr) + byte);
      if (irq != nullptr) value |= uint32_t{irq->priority} << (8 * byte);
    }
    return AccessResult::handled;
  }
  if (offset >= gic_bank::icfgr && offset < gic_bank::igrpmodr) {
    const uint32_t first = static_cast<uint32_t>(offset - gic_bank::icfgr) * 4;  // 16 interrupts per word
    for (uint32_t field = 0; field < 16; ++field) {
      const InterruptState* irq = spi(first + field);
      if (irq != nullptr) value |= read_config(*irq) << (2 * field);
    }
    return AccessResult::handled;
  }
  if (offset == gicd::pidr2) {
    value = gic_pidr2;
    return AccessResult::handled;
  }
  // RAZ by the architecture with affinity routing and a single security state.
  if (offset >= gicd::itargetsr && offset < gic_bank::icfgr) return AccessResult::handled;
  if (offset >= gic_bank::nsacr && offset < gic_bank::nsacr + 0x100) return AccessResult::handled;
  if (offset == gicd::sgir || (offset >= gicd::cpendsgir && offset < gicd::spendsgir + 0x10)) return AccessResult::handled;
  if (offset >= id_registers_first) return AccessResult::handled;  // other ID registers read as zero
  return AccessResult::unhandled;
}

AccessResult VirtualDistributor::read(uint64_t offset, unsigned width, uint64_t& value) const {
  value = 0;
  if (!valid_access(offset, width, frame_size)) return AccessResult::unhandled;
  if (width == 4 && offset < irouter_first) {
    uint32_t word = 0;
    const AccessResult result = read_word(offset, word);
    value = word;
    return result;
  }
  if (offset >= irouter_first && offset < irouter_end) {
    if (width != 8 && width != 4) return AccessResult::unhandled;
    const InterruptState* irq = spi(static_cast<uint32_t>((offset - gicd::irouter) / 8));
    if (irq == nullptr) return AccessResult::handled;
    value = width == 8 ? irq->router : (offset % 8 == 0 ? irq->router & 0xffffffff : irq->router >> 32);
    return AccessResult::handled;
  }
  if (width == 1) {
    if (offset >= gic_bank::ipriorityr && offset < gicd::itargetsr) {
      const InterruptState* irq = spi(static_cast<uint32_t>(offset - gic_bank::ipriorityr));
      if (irq != nullptr) value = irq->priority;
      return AccessResult::handled;
    }
    if (offset >= gicd::itargetsr && offset < gic_bank::icfgr) return AccessResult::handled;  // RES0 with ARE
    return AccessResult::unhandled;
  }
  if (width != 4) return AccessResult::unhandled;
  uint32_t word = 0;
  const AccessResult result = read_word(offset, word);
  value = word;
  return result;
}


AccessResult VirtualDistributor::write(uint64_t offset, unsigned width, uint64_t value, Events& events) {
  if (!valid_access(offset, width, frame_size)) return AccessResult::unhandled;
  if (offset >= irouter_first && offset < irouter_end) {
    if (width != 8 && width != 4) return AccessResult::unhandled;
    InterruptState* irq = spi(static_cast<uint32_t>((offset - gicd::irouter) / 8));
    if (irq == nullptr) return AccessResult::handled;
    uint64_t router = value;
    if (width == 4) {
      const uint64_t word = value & 0xffffffff;
      router = offset % 8 == 0 ? (irq->router & ~0xffffffffull) | word : (irq->router & 0xffffffff) | (word << 32);
    }
    write_router(*irq, router, events);
    return AccessResult::handled;
  }
  if (width == 1) {
    if (offset >= gic_bank::ipriorityr && offset < gicd::itargetsr) {
      InterruptState* irq = spi(static_cast<uint32_t>(offset - gic_bank::ipriorityr));
      if (irq != nullptr) write_priority(*irq, static_cast<uint8_t>(value), priority_mask_, events);
      return AccessResult::handled;
    }
    if (offset >= gicd::itargetsr && offset < gic_bank::icfgr) return AccessResult::handled;
    return AccessResult::unhandled;
  }
  if (width != 4) return AccessResult::unhandled;
  return write_word(offset, static_cast<uint32_t>(value), events);
}

// GICD_SETSPI_NSR / GICD_CLRSPI_NSR: an INTID of the partition's MBI range becomes
// pending (edge) or not; any other value is ignored, so a guest (or its device, through
// the doorbell) reaches only its own message-based SPIs. The secure-state variants are
// WI with a single security state.
AccessResult VirtualDistributor::write_message(uint64_t offset, uint32_t value, Events& events) {
  if (messages_.count == 0) return AccessResult::unhandled;
  if (offset != gicd_message::setspi_nsr && offset != gicd_message::clrspi_nsr) return AccessResult::handled;
  if ((value & ~gicd_message::intid_mask) != 0) return AccessResult::handled;
  InterruptState* irq = message_spi(value);
  if (irq == nullptr) return AccessResult::handled;
  const bool set = offset == gicd_message::setspi_nsr;
  if (!set) irq->repend = false;
  // Already pending: VirtualGic decides whether that is one interrupt or two.
  if (irq->pending_latch == set) return AccessResult::handled;
  irq->pending_latch = set;
  events.kick(irq->target_vcpu);
  return AccessResult::handled;
}

AccessResult VirtualDistributor::write_word(uint64_t offset, uint32_t value, Events& events) {
  if (offset >= gicd_message::setspi_nsr && offset <= gicd_message::clrspi_sr && offset % 8 == 0) {
    return write_message(offset, value, events);
  }
  BitRegister which{};
  uint32_t index = 0;
  if (bit_register_at(offset, which, index)) {
    for (uint32_t bit = 0; bit < 32; ++bit) {
      InterruptState* irq = spi(index * 32 + bit);
      if (irq != nullptr) write_bit(*irq, which, ((value >> bit) & 1u) != 0, events, physical_);
    }
    return AccessResult::handled;
  }
  if (offset >= gic_bank::ipriorityr && offset < gicd::itargetsr) {
    for (uint32_t byte = 0; byte < 4; ++byte) {
      InterruptState* irq = spi(static_cast<uint32_t>(offset - gic_bank::ipriorityr) + byte);
      if (irq != nullptr) write_priority(*irq, static_cast<uint8_t>(value >> (8 * byte)), priority_mask_, events);
    }
    return AccessResult::handled;
  }
  if (offset >= gic_bank::icfgr && offset < gic_bank::igrpmodr) {
    const uint32_t first = static_cast<uint32_t>(offset - gic_bank::icfgr) * 4;
    for (uint32_t field = 0; field < 16; ++field) {
      InterruptState* irq = spi(first + field);
      if (irq != nullptr) write_config(*irq, (value >> (2 * field)) & 3u, events);
    }
    return AccessResult::handled;
  }
  if (offset == gicd::ctlr) {
    const uint32_t enables = value & (gicd::ctlr_enable_grp0 | gicd::ctlr_enable_grp1);
    if (enables != ctlr_) {
      ctlr_ = enables;
      // Every vCPU's deliverable set changes (private interrupts included).
      events.kick_vcpus |= (uint32_t{1} << vcpu_count_) - 1;
    }
    return AccessResult::handled;
  }
  // Read-only, or WI by the architecture with affinity routing and a single security state.
  if (offset == gicd::typer || offset == gicd::iidr || offset == gicd::typer2 || offset == gicd::statusr) {
    return AccessResult::handled;
  }
  if (offset >= gicd::itargetsr && offset < gic_bank::icfgr) return AccessResult::handled;
  if (offset >= gic_bank::nsacr && offset < gic_bank::nsacr + 0x100) return AccessResult::handled;
  if (offset == gicd::sgir || (offset >= gicd::cpendsgir && offset < gicd::spendsgir + 0x10)) return AccessResult::handled;
  if (offset >= id_registers_first) return AccessResult::handled;
  return AccessResult::unhandled;
}

}  // namespace bulkhead::vgic
