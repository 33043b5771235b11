// The model machine's traffic (vgic_lr_model.hpp): Linux-like boot, seeded random steps
// (with the races the options leave out), and the drain that must end with everything
// delivered exactly once.
#include "tests/unit/vgic_lr_model.hpp"

namespace lr_model {

void Machine::boot(Random& random) {
  for (uint8_t k = 0; k < vcpus_; ++k) first_entry(k);
  guest_write(0, distributor_base + gicd::ctlr, 4, 0x13);
  guest_write(0, distributor_base + gic_bank::isenabler + 4, 4, 0xffffffff);
  guest_write(0, distributor_base + gic_bank::isenabler + 8, 4, 0xffffffff);
  for (const OwnedSpi& spi : spis) {
    guest_write(0, distributor_base + gic_bank::ipriorityr + spi.intid, 1, priority(random));
  }
  for (uint8_t k = 0; k < vcpus_; ++k) {
    const uint64_t rd = redistributor(k);
    guest_write(k, rd + gicr::waker, 4, 0);
    guest_write(k, rd + gicr::sgi_base + gic_bank::isenabler, 4, 0xffffffff);
    for (uint32_t intid = 0; intid < 32; intid += 4) {
      uint32_t word = 0;
      for (uint32_t b = 0; b < 4; ++b) word |= uint32_t{priority(random)} << (8 * b);
      guest_write(k, rd + gicr::ipriorityr + intid, 4, word);
    }
    cpu[k].eoi_mode_split = random.percent(30);
  }
}

void Machine::random_step(Random& random) {
  const uint32_t pick = random.below(100);
  const auto k = static_cast<uint8_t>(random.below(vcpus_));
  if (!options_.ticking_timers) {
    random_mix_step(k, random, pick);
  } else if (pick < 40) {
    guest_step(k, random, 75);  // acknowledge, EOI, deactivate, unmask, HVC, GICD read
  } else if (pick < 75) {
    fire_physical(random);
  } else if (pick < 80) {
    deliver_kick(k);
  } else if (pick < 92) {
    physical_line(k, hardware_ppis[0], random.percent(80));  // one timer per vCPU
  } else {
    random_mix_step(k, random, random.below(100));  // everything else, rarely
  }
  for (uint8_t j = 0; j < vcpus_; ++j) take_maintenance(j);
}

void Machine::random_mix_step(uint8_t k, Random& random, uint32_t pick) {
  if (pick < 45) {
    guest_step(k, random);
  } else if (pick < 55) {
    deliver_kick(k);
  } else if (pick < 63) {
    fire_physical(random);
  } else if (pick < 73) {
    const Source source = random_virtual_source(random);
    const auto bank = static_cast<uint8_t>(random.below(vcpus_));
    toggle_line(random.percent(50) ? no_vcpu : k, bank, source);
  } else if (pick < 80) {
    const auto bank = static_cast<uint8_t>(random.below(vcpus_));
    const uint16_t intid = random.percent(50) ? hardware_ppis[random.below(2)] : (random.percent(50) ? 40 : 41);
    const Shadow& shadow = at(intid < 32 ? bank : no_vcpu, intid);
    physical_line(bank, intid, !shadow.physical_line);
  }
}

void Machine::drain(Random& random) {
  trace("drain");
  for (uint8_t k = 0; k < vcpus_; ++k) {
    for (const uint16_t ppi : virtual_ppis) {
      if (shadow_of(k, ppi).line) toggle_line(no_vcpu, k, source_of(ppi));
    }
    for (const uint16_t ppi : hardware_ppis) physical_line(k, ppi, false);
  }
  for (const OwnedSpi& spi : spis) {
    if (spi.hardware) {
      physical_line(0, spi.intid, false);
    } else if (shadow_of(0, spi.intid).line) {
      toggle_line(no_vcpu, 0, source_of(spi.intid));
    }
  }
  settle(random);
  guest_write(0, distributor_base + gicd::ctlr, 4, 0x13);
  guest_write(0, distributor_base + gic_bank::isenabler + 4, 4, 0xffffffff);
  guest_write(0, distributor_base + gic_bank::isenabler + 8, 4, 0xffffffff);
  for (const OwnedSpi& spi : spis) {
    if (gic.interrupt(0, spi.intid)->routed_vcpu >= vcpus_) {  // GICD_IROUTER names no vCPU
      guest_write(0, distributor_base + gicd::irouter + 8 * uint64_t{spi.intid}, 8, 0);
    }
  }
  for (uint8_t k = 0; k < vcpus_; ++k) {
    guest_write(k, redistributor(k) + gicr::waker, 4, 0);
    guest_write(k, redistributor(k) + gicr::sgi_base + gic_bank::isenabler, 4, 0xffffffff);
  }
  settle(random);
  // Active states set by register writes that no guest took: cleared the same way.
  for (uint8_t k = 0; k < vcpus_; ++k) {
    for (uint16_t intid = 0; intid < private_interrupt_count; ++intid) {
      if (gic.interrupt(k, intid)->active && !cpu[k].holds(intid)) {
        guest_write(k, redistributor(k) + gicr::icactiver0, 4, 1u << intid);
      }
    }
  }
  for (const OwnedSpi& spi : spis) {
    bool held = false;
    for (uint8_t k = 0; k < vcpus_; ++k) held = held || cpu[k].holds(spi.intid);
    if (gic.interrupt(0, spi.intid)->active && !held) {
      guest_write(0, distributor_base + gic_bank::icactiver + 4 * (uint64_t{spi.intid} / 32), 4, 1u << (spi.intid % 32));
    }
  }
  settle(random);
  // The vGIC learns what the guests did last at their next exit.
  for (uint8_t k = 0; k < vcpus_; ++k) exit(k, "final", false, [] {});
  settle(random);
}

void Machine::final_checks() {
  for (uint8_t k = 0; k < vcpus_; ++k) {
    for (uint32_t intid = 0; intid < private_interrupt_count; ++intid) final_check(k, static_cast<uint16_t>(intid));
    for (unsigned n = 0; n < lrs_; ++n) {
      if (CpuInterface::state(cpu[k].lr[n]) != LrState::invalid) {
        violation("vCPU " + std::to_string(k) + " LR " + std::to_string(n) + " still valid at the end: " + hex(cpu[k].lr[n]));
      }
    }
    if (!cpu[k].running.empty() || !cpu[k].dropped.empty()) violation("vCPU " + std::to_string(k) + " guest still holds interrupts");
  }
  for (const OwnedSpi& spi : spis) final_check(0, spi.intid);
}

uint8_t Machine::priority(Random& random) {
  static constexpr uint8_t levels[] = {0x00, 0x40, 0x80, 0x80, 0xa0, 0xf0};
  return levels[random.below(sizeof(levels))];
}

Source Machine::random_virtual_source(Random& random) const {
  static constexpr uint16_t lines[] = {33, 34, 35, 48, 63, 64, 20, 23};
  return source_of(lines[random.below(sizeof(lines) / sizeof(lines[0]))]);
}

void Machine::guest_step(uint8_t k, Random& random, uint32_t range) {
  const uint32_t pick = random.below(range);
  if (pick < 35) {
    guest_acknowledge(k);
  } else if (pick < 55) {
    guest_eoi(k);
  } else if (pick < 65) {
    guest_deactivate_one(k, random);
  } else if (pick < 70) {
    guest_unmask(k);
  } else if (pick < 72) {
    exit(k, "hvc", false, [] {});
  } else if (pick < 75) {
    exit(k, "gic read", false, [&] { read(distributor_base + gicd::typer); });
  } else if (pick < 90) {
    random_register_write(k, random);
  } else if (pick < 97) {
    const uint32_t sgi = random.below(16);
    uint64_t value = uint64_t{sgi} << icc_sgi1r::intid_shift;
    if (random.percent(10)) {
      value |= icc_sgi1r::irm;
    } else {
      value |= 1u + random.below((1u << vcpus_) - 1u);  // a non-empty target list
    }
    const SgiTargets targets = decode_sgi1r(value, k, vcpus_);
    for (uint8_t t = 0; t < vcpus_; ++t) {
      if (((targets.vcpus >> t) & 1u) != 0 && !repend_allowed(t, static_cast<uint16_t>(sgi))) return;
    }
    guest_send_sgi(k, value, random.percent(90));
  } else {
    toggle_line(k, k, random_virtual_source(random));
  }
}

bool Machine::allowed_bit_write(uint64_t bit_register, uint8_t bank, uint16_t intid) {
  const InterruptState& irq = *gic.interrupt(bank, intid);
  if (bit_register == gic_bank::isactiver && !options_.active_overflow) {
    // Room for the guest's own: at most N - 2 active by register writes per vCPU.
    if (irq.active || irq.target_vcpu >= vcpus_) return true;
    unsigned active = 0;
    for (const Wanted& w : deliverable_to(irq.target_vcpu)) active += has_active(w.state) ? 1 : 0;
    return active + 2 <= lrs_;
  }
  if (bit_register == gic_bank::ispendr) return repend_allowed(bank, intid);
  return true;
}

bool Machine::repend_allowed(uint8_t bank, uint16_t intid) {
  if (options_.repend_before_fold) return true;
  for (uint8_t j = 0; j < vcpus_; ++j) {
    if (intid < private_interrupt_count && j != bank) continue;
    for (unsigned n = 0; n < lrs_; ++n) {
      const bool was_pending = static_cast<uint32_t>(entered_lr_[j][n]) == intid &&
                               has_pending(CpuInterface::state(entered_lr_[j][n]));
      if (was_pending && !has_pending(CpuInterface::state(cpu[j].lr[n]))) return false;
    }
  }
  return true;
}

void Machine::toggle_line(uint8_t self, uint8_t bank, const Source& source) {
  const bool asserted = !shadow_of(bank, source.intid).line;
  if (asserted && source.edge && !repend_allowed(bank, source.intid)) return;
  if (!asserted && !source.edge && !options_.racy_line_drops) {
    const uint8_t target = gic.interrupt(bank, source.intid)->target_vcpu;
    if (target < vcpus_) self = target;
  }
  device_line(self, bank, source.intid, asserted);
}

void Machine::random_register_write(uint8_t k, Random& random) {
  const uint32_t pick = random.below(100);
  const OwnedSpi& spi = spis[random.below(sizeof(spis) / sizeof(spis[0]))];
  const uint64_t spi_word = 4 * (uint64_t{spi.intid} / 32);
  const uint32_t spi_bit = 1u << (spi.intid % 32);
  const auto ppi_or_sgi = static_cast<uint16_t>(random.below(32));
  const uint64_t rd = redistributor(k);
  static constexpr uint64_t bit_registers[] = {gic_bank::isenabler, gic_bank::icenabler, gic_bank::ispendr,
                                               gic_bank::icpendr,   gic_bank::isactiver, gic_bank::icactiver};
  const uint64_t bit_register = bit_registers[random.below(6)];
  if (pick < 30) {
    if (!allowed_bit_write(bit_register, 0, spi.intid)) return;
    guest_write(k, distributor_base + bit_register + spi_word, 4, spi_bit);
  } else if (pick < 55) {
    if (!allowed_bit_write(bit_register, k, ppi_or_sgi)) return;
    guest_write(k, rd + gicr::sgi_base + bit_register, 4, 1u << ppi_or_sgi);
  } else if (pick < 65) {
    guest_write(k, distributor_base + gic_bank::ipriorityr + spi.intid, 1, priority(random));
  } else if (pick < 72) {
    guest_write(k, rd + gicr::ipriorityr + ppi_or_sgi, 1, priority(random));
  } else if (pick < 82) {
    if (!options_.racy_reroutes && (in_any_lr(spi.intid) || gic.interrupt(0, spi.intid)->active)) return;
    uint64_t router = random.below(vcpus_);
    if (random.percent(10)) router = gicd::irouter_irm;
    if (random.percent(5)) router = uint64_t{1} << 8;  // Aff1 = 1: no vCPU
    guest_write(k, distributor_base + gicd::irouter + 8 * uint64_t{spi.intid}, 8, router);
  } else if (pick < 87) {
    const uint64_t address = distributor_base + gic_bank::igroupr + spi_word;
    guest_write(k, address, 4, read(address) ^ spi_bit);
  } else if (pick < 90) {
    const uint64_t address = rd + gicr::igroupr0;
    guest_write(k, address, 4, read(address) ^ (1u << ppi_or_sgi));
  } else if (pick < 95) {
    static constexpr uint64_t controls[] = {0x13, 0x13, 0x13, 0x12, 0x11, 0x10};
    guest_write(k, distributor_base + gicd::ctlr, 4, controls[random.below(6)]);
  } else {
    guest_write(k, rd + gicr::waker, 4, random.percent(60) ? 0 : gicr::waker_processor_sleep);
  }
}

void Machine::settle(Random& random) {
  for (unsigned round = 0; round < 200; ++round) {
    bool progress = false;
    for (unsigned inner = 0; inner < 1000; ++inner) {
      bool any = false;
      for (uint8_t k = 0; k < vcpus_; ++k) {
        any = deliver_kick(k) || any;
        take_maintenance(k);
        // One step: take an interrupt, else finish one.
        any = guest_acknowledge(k) || guest_eoi(k) || guest_deactivate_one(k, random) || any;
        take_maintenance(k);
      }
      any = fire_physical(random) || any;
      progress = progress || any;
      if (!any) break;
    }
    bool forced = false;
    for (uint8_t k = 0; k < vcpus_; ++k) {
      // Something deliverable to k outside its LRs while one is free: only an exit
      // brings it in, and the guest has nothing left that makes one.
      unsigned valid = 0;
      for (unsigned n = 0; n < lrs_; ++n) valid += CpuInterface::state(cpu[k].lr[n]) != LrState::invalid ? 1 : 0;
      if (valid == lrs_) continue;
      // An underflow request fires once these (active ones no guest took) are cleared.
      if ((cpu[k].hcr & ich_hcr::uie) != 0 && valid >= 2) continue;
      // An active LR that signals its deactivation (EOI maintenance) brings them in then.
      bool eoi_armed = false;
      for (unsigned n = 0; n < lrs_; ++n) {
        const ListRegister lr = decode_list_register(cpu[k].lr[n]);
        eoi_armed = eoi_armed || (!lr.hardware && lr.eoi_maintenance && has_active(lr.state));
      }
      if (eoi_armed) continue;
      // The vGIC learns what the guest did only at an exit: what was in an LR at entry
      // and is gone since was taken by the guest, not left waiting.
      bool waiting = false;
      for (const Wanted& w : deliverable_to(k)) {
        bool placed = false;
        for (unsigned n = 0; n < lrs_; ++n) {
          placed = placed || (static_cast<uint32_t>(entered_lr_[k][n]) == w.intid &&
                              CpuInterface::state(entered_lr_[k][n]) != LrState::invalid);
        }
        waiting = waiting || !placed;
      }
      if (!waiting) continue;
      ++stats.unrelated_exits_needed;
      Known cause = Known::none;
      if (neutralized_[k]) {
        cause = Known::npie_without_pending_lr;
      } else if (lrs_ == 1) {
        cause = Known::single_lr_without_maintenance;
      }
      violation("vCPU " + std::to_string(k) + ": a deliverable interrupt waits outside the LRs with an LR free, " +
                    "and nothing will make the vCPU exit (no maintenance interrupt can fire); wanted" +
                    wanted_listing(k) + " | LRs " + lr_listing(k) + " | ICH_HCR " + hex(cpu[k].hcr) +
                    " needs_sync " + std::to_string(gic.needs_sync(k)),
                cause);
      const CpuInterface before = cpu[k];
      exit(k, "unrelated hvc", false, [] {});
      forced = forced || !std::equal(before.lr, before.lr + lrs_, cpu[k].lr);
    }
    if (!progress && !forced) return;
  }
  violation("the guests never settled");
}

void Machine::final_check(uint8_t k, uint16_t intid) {
  const Shadow& shadow = shadow_of(k, intid);
  const InterruptState& irq = *gic.interrupt(k, intid);
  const std::string name = std::to_string(intid) + (intid < 32 ? "@" + std::to_string(k) : "");
  if (owed(intid < private_interrupt_count ? k : no_vcpu, intid)) {
    violation("interrupt " + name + " pended and never acknowledged (" + std::to_string(shadow.pends) + " pends, " +
              std::to_string(shadow.acks) + " acks; vGIC pending " + std::to_string(irq.pending()) + " active " +
              std::to_string(irq.active) + " enabled " + std::to_string(irq.enabled) + " target " +
              std::to_string(irq.target_vcpu) + ")");
  }
  if (irq.pending() || irq.active) {
    violation("interrupt " + name + " left " + (irq.pending() ? "pending" : "") + (irq.active ? " active" : "") +
              " in the vGIC after the drain");
  }
  if (shadow.physical_active) violation("physical interrupt " + name + " left active: its device is blocked");
}
}  // namespace lr_model
