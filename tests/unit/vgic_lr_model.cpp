// The model machine of vgic_lr_model.hpp: what the target does on exits and entries,
// the guest and its CPU interface, the interrupt sources (the checks: vgic_lr_checks.cpp).
#include "tests/unit/vgic_lr_model.hpp"

namespace lr_model {

bool PhysicalView::pending(uint8_t vcpu, uint16_t physical_intid) const {
  return machine_.physical_pending(vcpu, physical_intid);
}

void Machine::first_entry(uint8_t k) {
  uint64_t values[VirqQueue::max_list_registers] = {};
  const FillResult fill = gic.fill(k, values, lrs_);
  for (unsigned n = 0; n < lrs_; ++n) cpu[k].lr[n] = values[n];
  cpu[k].hcr = ich_hcr::en | fill.maintenance_bits();
  // The target: the CPU's hardware PPIs as the virtual state says.
  gic.request_ppi_sync(k);
  Events work;
  gic.take_work(k, work);
  apply(work, k);
  kept_[k].clear();
  entered(k);
}

void Machine::exit_started(uint8_t k) {
  kept_[k].clear();
  for (unsigned n = 0; n < lrs_; ++n) {
    if (has_active(CpuInterface::state(cpu[k].lr[n]))) kept_[k].push_back(static_cast<uint16_t>(cpu[k].lr[n]));
  }
  // The vCPU's first exit after a merged pend decides (as its fold does): the first pend
  // still offered means the guest had not taken it, and the two were one interrupt.
  for (size_t i = 0; i < duplicates_.size();) {
    const uint16_t intid = duplicates_[i].second;
    Shadow& shadow = at(duplicates_[i].first, intid);
    if (shadow.duplicate_vcpu != k) {
      ++i;
      continue;
    }
    if (has_pending(lr_state_of(k, intid))) shadow.duplicate_allowed = false;
    duplicates_.erase(duplicates_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

void Machine::note_repend(uint8_t bank, uint16_t intid, uint8_t caller) {
  const InterruptState* irq = gic.interrupt(bank == no_vcpu ? 0 : bank, intid);
  if (irq == nullptr || irq->target_vcpu >= vcpus_) return;
  const uint8_t holder = irq->target_vcpu;
  const uint8_t key = intid < private_interrupt_count ? bank : no_vcpu;
  Shadow& shadow = at(key, intid);
  if (holder == caller || !owed(key, intid) || !has_pending(lr_state_of(holder, intid)) || shadow.duplicate_allowed) {
    return;
  }
  shadow.duplicate_allowed = true;
  shadow.duplicate_vcpu = holder;
  duplicates_.emplace_back(key, intid);
}

bool Machine::owed(uint8_t bank, uint16_t intid) {
  const Shadow& shadow = at(bank, intid);
  const Source source = source_of(intid);
  if (source.hardware && !source.edge) return (shadow.latch && shadow.physical_line) || shadow.software_pend;
  return shadow.latch || (!source.hardware && !source.edge && shadow.line);
}

void Machine::apply(const Events& events, uint8_t self) {
  if (events.hardware_overflow) violation("events overflowed");
  for (size_t i = 0; i < events.hardware_count; ++i) {
    const HardwareEvent& event = events.hardware[i];
    const bool ppi = event.physical_intid < private_interrupt_count;
    // PPIs: the target only reaches the calling CPU's redistributor.
    const uint8_t bank = ppi ? self : no_vcpu;
    if (ppi && (self == no_vcpu || event.vcpu != self)) {
      violation("a PPI event for vCPU " + std::to_string(event.vcpu) + " from " + std::to_string(self));
      continue;
    }
    Shadow& shadow = at(bank, event.physical_intid);
    switch (event.request) {
      case HardwareRequest::enable: shadow.physical_enabled = true; break;
      case HardwareRequest::disable: shadow.physical_enabled = false; break;
      case HardwareRequest::route:
        if (event.vcpu < vcpus_) shadow.physical_cpu = event.vcpu;
        break;
      case HardwareRequest::deactivate: shadow.physical_active = false; break;
      case HardwareRequest::activate: shadow.physical_active = true; break;
      case HardwareRequest::clear_pending: break;  // the model's lines latch nothing
    }
  }
  for (uint32_t kicks = events.kick_vcpus; kicks != 0; kicks &= kicks - 1) {
    const auto j = static_cast<uint8_t>(__builtin_ctz(kicks));
    if (j >= vcpus_) continue;
    touched_[j] = true;
    if (j != self) kicked_[j] = true;
  }
}

void Machine::icc_trap(uint8_t k) {
  for (int round = 0; cpu[k].traps_icc(); ++round) {
    if (round == 4) {
      violation("vCPU " + std::to_string(k) + ": its ICC accesses trap again and again (ICH_HCR " + hex(cpu[k].hcr) +
                ", LRs " + lr_listing(k) + ")");
      return;
    }
    ++stats.icc_traps;
    icc_trap_exit_ = true;
    exit(k, "icc trap", true, [&] {
      Events events;
      gic.check_acknowledgement(k, events);
      apply(events, k);
    });
    icc_trap_exit_ = false;
  }
  after_icc_trap_[k] = true;
}

void Machine::guest_unmask(uint8_t k) {
  trace("guest " + std::to_string(k) + " unmasks its interrupts");
  unmasked_[k] = true;
  take_at_once(k);
}

GuestInterruptMask Machine::guest_mask(uint8_t k) const {
  GuestInterruptMask guest;
  guest.irqs_masked = !unmasked_[k];
  guest.fiqs_masked = !unmasked_[k];
  guest.group0_enabled = true;
  guest.group1_enabled = true;
  guest.priority_mask = 0xff;
  guest.handling = !cpu[k].running.empty();
  return guest;
}

void Machine::take_at_once(uint8_t k) {
  if (!unmasked_[k] || cpu[k].highest_pending() < 0) return;
  ++stats.taken_at_once;
  const ListRegister lr = decode_list_register(cpu[k].lr[cpu[k].highest_pending()]);
  if (lr.hardware && !source_of(static_cast<uint16_t>(lr.virtual_intid)).edge && !cpu[k].traps_icc()) {
    ++stats.hardware_level_at_once;
  }
  guest_acknowledge(k);
}

bool Machine::guest_acknowledge(uint8_t k) {
  CpuInterface& c = cpu[k];
  unmasked_[k] = false;  // taking an interrupt masks them (a spurious INTID too)
  if (c.highest_pending() < 0) return false;
  bool checked = false;
  if (c.traps_icc()) {
    icc_trap(k);
    checked = true;
    if (c.highest_pending() < 0) {  // withdrawn: the IAR read returns a spurious INTID
      ++stats.withdrawn_at_acknowledge;
      trace("guest " + std::to_string(k) + " reads a spurious INTID");
      return false;
    }
  }
  const int n = c.highest_pending();
  const ListRegister lr = decode_list_register(c.lr[n]);
  c.lr[n] = (c.lr[n] & ~lr_state_mask) | (uint64_t{static_cast<uint8_t>(LrState::active)} << ich_lr::state_shift);
  const auto intid = static_cast<uint16_t>(lr.virtual_intid);
  Shadow& shadow = shadow_of(k, intid);
  c.running.push_back({intid, lr.priority, ++shadow.activations});
  ++stats.acks;
  if (lr.hardware) ++stats.hardware_acks;
  const bool pend_owed = owed(intid < private_interrupt_count ? k : no_vcpu, intid);
  trace("guest " + std::to_string(k) + " acks " + std::to_string(intid) + " from LR " + std::to_string(n) +
        (lr.hardware ? " (hw)" : ""));
  // A hardware level line that dropped after a trap the guest made for another access.
  const bool unchecked = lr.hardware && !checked && after_icc_trap_[k] && !source_of(intid).edge;
  if (!pend_owed) {
    if (tolerate_[k][intid]) {
      ++stats.stale_acks;
    } else if (unchecked) {
      ++stats.unchecked_acks;
    } else if (shadow.duplicate_allowed && shadow.duplicate_vcpu == k) {
      ++stats.duplicate_acks;
      shadow.duplicate_allowed = false;
    } else {
      violation("vCPU " + std::to_string(k) + " acknowledged " + std::to_string(intid) + " with no pend outstanding");
    }
  }
  tolerate_[k][intid] = false;
  shadow.latch = false;
  shadow.software_pend = false;
  ++shadow.acks;
  if (lr.hardware && lr.physical_intid != intid) violation("HW LR with pINTID != vINTID");
  return true;
}

bool Machine::guest_eoi(uint8_t k) {
  CpuInterface& c = cpu[k];
  if (c.running.empty()) return false;
  if (c.traps_icc()) icc_trap(k);
  const CpuInterface::Taken taken = c.running.back();
  c.running.pop_back();
  trace("guest " + std::to_string(k) + " EOIs " + std::to_string(taken.intid));
  if (c.eoi_mode_split) {
    c.dropped.push_back(taken);
  } else {
    deactivate(k, taken);
  }
  return true;
}

bool Machine::guest_deactivate_one(uint8_t k, Random& random) {
  CpuInterface& c = cpu[k];
  if (c.dropped.empty()) return false;
  const size_t index = random.below(static_cast<uint32_t>(c.dropped.size()));
  const CpuInterface::Taken taken = c.dropped[index];
  c.dropped.erase(c.dropped.begin() + static_cast<std::ptrdiff_t>(index));
  trace("guest " + std::to_string(k) + " DIR " + std::to_string(taken.intid));
  deactivate(k, taken);
  return true;
}

void Machine::take_maintenance(uint8_t k) {
  if (!cpu[k].maintenance_asserted()) return;
  ++stats.maintenance_exits;
  if ((cpu[k].misr() & ich_misr::eoi) != 0) ++stats.eoi_maintenance_exits;
  exit(k, "maintenance", false, [] {});
  // Asserted again when the guest was entered (not by what an unmasked guest then took).
  if (maintenance_at_entry_[k]) {
    Known cause = Known::none;
    if (cpu[k].misr() == ich_misr::no_pending && holds_pending_active(k)) {
      cause = Known::npie_without_pending_lr;
    } else if (deliverable_to(k).size() <= lrs_) {
      cause = Known::stale_maintenance;
    }
    violation("vCPU " + std::to_string(k) + ": the maintenance interrupt fires again at once (ICH_HCR " +
                  hex(cpu[k].hcr) + ", MISR " + hex(cpu[k].misr()) + ", LRs " + lr_listing(k) + "): livelock",
              cause);
    // Go on past it: mask what fires until the next sync writes ICH_HCR again.
    const uint64_t misr = cpu[k].misr();
    if ((misr & ich_misr::no_pending) != 0) cpu[k].hcr &= ~ich_hcr::npie;
    if ((misr & ich_misr::underflow) != 0) cpu[k].hcr &= ~ich_hcr::uie;
    neutralized_[k] = cause != Known::none;
  }
}

void Machine::guest_write(uint8_t k, uint64_t address, unsigned width, uint64_t value) {
  trace("vcpu " + std::to_string(k) + " writes " + hex(address) + " = " + hex(value));
  exit(k, "gic write", true, [&] {
    writer_ = k;
    account_write(address, width, value);
    Events events;
    gic.write(address, width, value, events, k);
    apply(events, k);
  });
}

void Machine::guest_send_sgi(uint8_t k, uint64_t value, bool group1) {
  trace("vcpu " + std::to_string(k) + " sends SGI " + hex(value) + (group1 ? "" : " group 0"));
  exit(k, "sgi", true, [&] {
    const SgiTargets targets = decode_sgi1r(value, k, vcpus_);
    for (uint8_t t = 0; t < vcpus_; ++t) {
      if (((targets.vcpus >> t) & 1u) != 0 && gic.interrupt(t, targets.intid)->group1 == group1) {
        note_repend(t, targets.intid, k);
        pend(shadow_of(t, targets.intid));
      }
    }
    Events events;
    gic.send_sgi(k, value, group1, events);
    apply(events, k);
  });
}

void Machine::device_line(uint8_t self, uint8_t bank, uint16_t intid, bool asserted) {
  trace("line " + std::to_string(intid) + (intid < 32 ? "@" + std::to_string(bank) : "") + " -> " +
        (asserted ? "1" : "0") + (self == no_vcpu ? " (device)" : " (vcpu " + std::to_string(self) + ")"));
  const auto act = [&] {
    Shadow& shadow = shadow_of(bank, intid);
    const bool rising = asserted && !shadow.line;
    const bool falling = !asserted && shadow.line;
    if (source_of(intid).edge && rising) note_repend(bank, intid, self);
    shadow.line = asserted;
    if (source_of(intid).edge && rising) pend(shadow);
    if (!source_of(intid).edge && falling && !shadow.latch) withdrawn(bank, intid);
    Events events;
    gic.set_line(bank, intid, asserted, events, self);
    apply(events, self);
  };
  if (self == no_vcpu) {
    act();
  } else {
    exit(self, "device mmio", true, act);
  }
}

void Machine::physical_line(uint8_t bank, uint16_t intid, bool asserted) {
  trace("physical line " + std::to_string(intid) + (intid < 32 ? "@" + std::to_string(bank) : "") + " -> " +
        (asserted ? "1" : "0"));
  // A level interrupt taken and not yet acknowledged is no longer owed once its line
  // drops (owed()): the acknowledgement check must keep the guest from taking it.
  at(intid < 32 ? bank : no_vcpu, intid).physical_line = asserted;
}

bool Machine::fire_physical(Random& random) {
  std::vector<std::pair<uint8_t, uint16_t>> ready;
  for (uint8_t k = 0; k < vcpus_; ++k) {
    for (const uint16_t ppi : hardware_ppis) {
      if (can_fire(at(k, ppi))) ready.emplace_back(k, ppi);
    }
  }
  for (const OwnedSpi& spi : spis) {
    if (spi.hardware && can_fire(at(no_vcpu, spi.intid))) ready.emplace_back(no_vcpu, spi.intid);
  }
  if (ready.empty()) return false;
  const size_t pick = random.below(static_cast<uint32_t>(ready.size()));
  const uint8_t bank = ready[pick].first;
  const uint16_t intid = ready[pick].second;
  Shadow& shadow = at(bank, intid);
  const uint8_t k = bank != no_vcpu ? bank : shadow.physical_cpu;
  trace("physical " + std::to_string(intid) + " fires on vcpu " + std::to_string(k));
  const auto taken_at_el2 = [&] {
    shadow.physical_active = true;  // acknowledged and priority-dropped at EL2 (EOImode 1)
    pend(shadow);                   // for its vCPU, whichever it is (or none: latched)
  };
  if (refire(k, intid, taken_at_el2)) return true;
  exit(k, "irq", true, [&] {
    taken_at_el2();
    Events events;
    if (!gic.hardware_interrupt(k, intid, events)) violation("hardware_interrupt refused an owned interrupt");
    apply(events, k);
  });
  return true;
}

bool Machine::deliver_kick(uint8_t k) {
  if (!kicked_[k]) return false;
  kicked_[k] = false;
  ++stats.kicks;
  exit(k, "kick", false, [] {});
  return true;
}

void Machine::boot_plain(uint8_t priority) {
  for (uint8_t k = 0; k < vcpus_; ++k) first_entry(k);
  guest_write(0, distributor_base + gicd::ctlr, 4, 0x13);
  guest_write(0, distributor_base + gic_bank::isenabler + 4, 4, 0xffffffff);
  guest_write(0, distributor_base + gic_bank::isenabler + 8, 4, 0xffffffff);
  for (const OwnedSpi& spi : spis) guest_write(0, distributor_base + gic_bank::ipriorityr + spi.intid, 1, priority);
  for (uint8_t k = 0; k < vcpus_; ++k) {
    guest_write(k, redistributor(k) + gicr::waker, 4, 0);
    guest_write(k, redistributor(k) + gicr::sgi_base + gic_bank::isenabler, 4, 0xffffffff);
    const uint32_t word = priority * 0x01010101u;
    for (uint32_t intid = 0; intid < 32; intid += 4) guest_write(k, redistributor(k) + gicr::ipriorityr + intid, 4, word);
  }
}

void Machine::set_priority(uint8_t k, uint16_t intid, uint8_t priority) {
  const uint64_t address = intid < private_interrupt_count ? redistributor(k) + gicr::ipriorityr + intid
                                                           : distributor_base + gic_bank::ipriorityr + intid;
  guest_write(k, address, 1, priority);
}

bool Machine::guest_deactivate(uint8_t k, uint16_t intid) {
  CpuInterface& c = cpu[k];
  for (size_t i = 0; i < c.dropped.size(); ++i) {
    if (c.dropped[i].intid != intid) continue;
    const CpuInterface::Taken taken = c.dropped[i];
    c.dropped.erase(c.dropped.begin() + static_cast<std::ptrdiff_t>(i));
    trace("guest " + std::to_string(k) + " DIR " + std::to_string(intid));
    deactivate(k, taken);
    return true;
  }
  return false;
}

Source Machine::source_of(uint16_t intid) {
  const OwnedSpi* spi = std::find_if(std::begin(spis), std::end(spis), [intid](const OwnedSpi& owned) {
    return owned.intid == intid;
  });
  if (spi != std::end(spis)) return {intid, spi->hardware, spi->edge};
  if (intid < sgi_count) return {intid, false, true};
  return {intid, intid == 27 || intid == 30, false};
}

void Machine::pend(Shadow& shadow) {
  if (!shadow.latch) ++shadow.pends;
  shadow.latch = true;
}

void Machine::withdrawn(uint8_t bank, uint16_t intid) {
  for (uint8_t j = 0; j < vcpus_; ++j) {
    if (intid < private_interrupt_count && j != bank) continue;
    for (unsigned n = 0; n < lrs_; ++n) {
      if (static_cast<uint32_t>(cpu[j].lr[n]) == intid && has_pending(CpuInterface::state(cpu[j].lr[n]))) {
        tolerate_[j][intid] = true;  // pending, or pending+active: pending after a deactivation
      }
    }
  }
}

void Machine::deactivate(uint8_t k, const CpuInterface::Taken& taken) {
  const uint16_t intid = taken.intid;
  CpuInterface& c = cpu[k];
  const int n = c.find_active(intid);
  if (n < 0) {
    // No LR holds it active: the hardware deactivates nothing (EOIcount only). Lost,
    // unless the guest deactivated it itself since its last entry (the vGIC learns that
    // at the next exit), or it was activated anew since this guest took it (an
    // ICACTIVER ended this activation, a later one is someone else's).
    bool at_entry = false;
    for (unsigned m = 0; m < lrs_; ++m) {
      at_entry = at_entry || (static_cast<uint32_t>(entered_lr_[k][m]) == intid &&
                              has_active(CpuInterface::state(entered_lr_[k][m])));
    }
    const InterruptState* irq = gic.interrupt(k, intid);
    if (irq != nullptr && irq->active && !at_entry && shadow_of(k, intid).activations == taken.activation) {
      violation("vCPU " + std::to_string(k) + " deactivated " + std::to_string(intid) +
                " but no LR holds it: the vGIC keeps it active (target vCPU " +
                std::to_string(irq->target_vcpu) + ")");
    }
    return;
  }
  const ListRegister lr = decode_list_register(c.lr[n]);
  const LrState next = lr.state == LrState::pending_active ? LrState::pending : LrState::invalid;
  c.lr[n] = (c.lr[n] & ~lr_state_mask) | (uint64_t{static_cast<uint8_t>(next)} << ich_lr::state_shift);
  if (lr.hardware) at(intid < private_interrupt_count ? k : no_vcpu, static_cast<uint16_t>(lr.physical_intid)).physical_active = false;
}

void Machine::account_write(uint64_t address, unsigned width, uint64_t value) {
  if (width != 4) return;
  uint8_t bank = no_vcpu;
  uint64_t offset = address - distributor_base;
  uint32_t first = 0;
  if (offset < VirtualDistributor::frame_size) {
    if (offset < gic_bank::isenabler || offset >= gic_bank::ipriorityr) return;
    first = static_cast<uint32_t>((offset % 0x80) / 4) * 32;
    offset -= offset % 0x80;
  } else {
    const uint64_t relative = address - redistributor_base;
    bank = static_cast<uint8_t>(relative / VirtualRedistributor::frame_size);
    offset = relative % VirtualRedistributor::frame_size;
    if (offset < gicr::sgi_base + gic_bank::isenabler || offset >= gicr::sgi_base + gic_bank::ipriorityr) return;
    offset -= gicr::sgi_base;
    if (offset % 0x80 != 0) return;
  }
  for (uint32_t bit = 0; bit < 32; ++bit) {
    if (((value >> bit) & 1u) == 0) continue;
    const auto intid = static_cast<uint16_t>(first + bit);
    if (bank == no_vcpu && gic.distributor().spi(intid) == nullptr) continue;
    Shadow& shadow = shadow_of(bank, intid);
    if (offset == gic_bank::ispendr) {
      note_repend(bank == no_vcpu ? no_vcpu : bank, intid, writer_);
      pend(shadow);
      shadow.software_pend = true;
    }
    if (offset == gic_bank::icpendr && shadow.latch) {
      shadow.latch = false;
      shadow.software_pend = false;
      const Source source = source_of(intid);
      if (source.edge || source.hardware || !shadow.line) withdrawn(bank, intid);
    }
    if (offset == gic_bank::isactiver && !gic.interrupt(bank == no_vcpu ? 0 : bank, intid)->active) {
      ++shadow.activations;
    }
  }
}

void Machine::entered(uint8_t k) {
  touched_[k] = false;
  for (bool& tolerated : tolerate_[k]) tolerated = false;
  std::copy(cpu[k].lr, cpu[k].lr + lrs_, entered_lr_[k]);
  // A hardware level interrupt offered pending for its line (not a software pend): its
  // acknowledgement must trap, but just after the trap that checked it.
  for (unsigned n = 0; n < lrs_; ++n) {
    const ListRegister lr = decode_list_register(cpu[k].lr[n]);
    const auto intid = static_cast<uint16_t>(lr.virtual_intid);
    const bool for_its_line = lr.state == LrState::pending && lr.hardware && !source_of(intid).edge &&
                              !shadow_of(k, intid).software_pend;
    // Unless the guest takes it at once (unmasked, and the most urgent of its LRs).
    const bool at_once = unmasked_[k] && static_cast<int>(n) == cpu[k].highest_pending();
    if (for_its_line && !icc_trap_exit_ && !cpu[k].traps_icc() && !at_once) {
      violation("vCPU " + std::to_string(k) + ": hardware level " + std::to_string(intid) +
                " offered pending with no acknowledgement check (ICH_HCR " + hex(cpu[k].hcr) + ", LRs " + lr_listing(k) + ")");
    }
  }
  // A virtual level line stays pending while asserted, whatever the guest took.
  const auto level_held = [&](uint8_t bank, uint16_t intid) {
    const InterruptState& irq = *gic.interrupt(bank, intid);
    if (shadow_of(bank, intid).line && !irq.edge && !irq.pending()) {
      violation("level line " + std::to_string(intid) + " asserted but not pending in the vGIC");
    }
  };
  for (const uint16_t ppi : virtual_ppis) level_held(k, ppi);
  for (const OwnedSpi& spi : spis) {
    if (!spi.hardware) level_held(k, spi.intid);
  }
  check_list_registers(k);
  // A maintenance interrupt asserted now is taken at EL2 before the guest runs; otherwise
  // an unmasked guest takes what it is offered first.
  maintenance_at_entry_[k] = cpu[k].maintenance_asserted();
  if (!maintenance_at_entry_[k]) take_at_once(k);
}

}  // namespace lr_model
