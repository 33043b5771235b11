// The model machine's checks (vgic_lr_model.hpp): what each vCPU's list registers must
// offer after an entry, and the listings and trace a violation reports.
#include "tests/unit/vgic_lr_model.hpp"

namespace lr_model {

std::vector<Machine::Wanted> Machine::deliverable_to(uint8_t k) {
  std::vector<Wanted> wanted;
  const auto add = [&](const InterruptState& irq) {
    // GICR_WAKER does not gate delivery.
    const bool deliverable = irq.pending() && irq.enabled && gic.distributor().group_enabled(irq.group1);
    const LrState state = make_state(deliverable, irq.active);
    const bool kept = has_active(state) && std::find(kept_[k].begin(), kept_[k].end(), irq.intid) != kept_[k].end();
    if (state != LrState::invalid) wanted.push_back({irq.intid, state, irq.priority, irq.group1, irq.hardware, kept});
  };
  for (uint32_t intid = 0; intid < private_interrupt_count; ++intid) add(*gic.interrupt(k, intid));
  for (const OwnedSpi& spi : spis) {
    const InterruptState& irq = *gic.interrupt(k, spi.intid);
    if (irq.target_vcpu == k) add(irq);
  }
  std::sort(wanted.begin(), wanted.end(), [](const Wanted& a, const Wanted& b) {
    if (a.kept != b.kept) return a.kept;
    if (has_active(a.state) != has_active(b.state)) return has_active(a.state);
    if (a.priority != b.priority) return a.priority < b.priority;
    return a.intid < b.intid;
  });
  return wanted;
}

void Machine::check_list_registers(uint8_t k) {
  const CpuInterface& c = cpu[k];
  const std::vector<Wanted> wanted = deliverable_to(k);
  std::vector<ListRegister> held;
  for (unsigned n = 0; n < lrs_; ++n) {
    const ListRegister lr = decode_list_register(c.lr[n]);
    if (lr.state == LrState::invalid) continue;
    for (const ListRegister& other : held) {
      if (other.virtual_intid == lr.virtual_intid) violation("INTID " + std::to_string(lr.virtual_intid) + " in two LRs");
    }
    held.push_back(lr);
    if (lr.hardware && lr.state == LrState::pending_active) {
      violation("hardware-backed " + std::to_string(lr.virtual_intid) + " pending+active in an LR");
    }
    if (lr.state == LrState::pending_active) ++stats.pending_active_lrs;
  }
  const size_t expected = std::min<size_t>(wanted.size(), lrs_);
  if (wanted.size() > lrs_) ++stats.overflow_syncs;
  std::string listing;
  for (size_t i = 0; i < wanted.size(); ++i) {
    listing += " " + std::to_string(wanted[i].intid) + ":" + std::to_string(static_cast<int>(wanted[i].state));
  }
  listing += " | LRs";
  for (const ListRegister& lr : held) {
    listing += " " + std::to_string(lr.virtual_intid) + ":" + std::to_string(static_cast<int>(lr.state));
  }
  if (held.size() != expected) {
    violation("vCPU " + std::to_string(k) + ": " + std::to_string(held.size()) + " valid LRs, " +
              std::to_string(expected) + " expected; wanted" + listing);
    return;
  }
  for (size_t i = 0; i < expected; ++i) {
    const Wanted& w = wanted[i];
    const auto found = std::find_if(held.begin(), held.end(),
                                    [&](const ListRegister& lr) { return lr.virtual_intid == w.intid; });
    if (found == held.end()) {
      violation("vCPU " + std::to_string(k) + ": INTID " + std::to_string(w.intid) + " (state " +
                std::to_string(static_cast<int>(w.state)) + ") not in an LR; wanted" + listing);
      return;
    }
    // A hardware-backed one may be written as virtual (HW = 0) with EOI maintenance while
    // active (a single LR: its deactivation must be seen).
    const bool software_form = w.hardware && !found->hardware && found->eoi_maintenance && has_active(found->state);
    if (software_form) ++stats.kept_actives;
    if (found->state != lr_form(w) || found->priority != w.priority || found->group1 != w.group1 ||
        (found->hardware != w.hardware && !software_form) || (found->hardware && found->physical_intid != w.intid)) {
      violation("vCPU " + std::to_string(k) + ": LR of INTID " + std::to_string(w.intid) + " says state " +
                std::to_string(static_cast<int>(found->state)) + " priority " + hex(found->priority) +
                (found->group1 ? " group 1" : " group 0") + (found->hardware ? " hw" : "") + "; wanted" + listing);
      return;
    }
  }
  if (wanted.size() > lrs_) {
    // Entries wait: a maintenance interrupt must be able to bring them in.
    bool pending_lr = false;
    bool eoi_armed = false;  // an active LR that signals its deactivation
    for (const ListRegister& lr : held) {
      pending_lr = pending_lr || lr.state == LrState::pending;
      eoi_armed = eoi_armed || (!lr.hardware && lr.eoi_maintenance && has_active(lr.state));
    }
    const bool underflow_can_fire = (c.hcr & ich_hcr::uie) != 0 && lrs_ >= 2;
    const bool no_pending_can_fire = (c.hcr & ich_hcr::npie) != 0 && pending_lr;
    if (!underflow_can_fire && !no_pending_can_fire && !eoi_armed) {
      Known cause = Known::none;
      if (((c.hcr & ich_hcr::npie) != 0 && holds_pending_active(k)) || neutralized_[k]) {
        cause = Known::npie_without_pending_lr;
      } else if (lrs_ == 1) {
        cause = Known::single_lr_without_maintenance;
      }
      violation("vCPU " + std::to_string(k) + ": " + std::to_string(wanted.size() - lrs_) +
                    " interrupts wait with no maintenance request that can fire without firing at once (ICH_HCR " +
                    hex(c.hcr) + "); wanted" + listing,
                cause);
    }
  }
}

LrState Machine::lr_state_of(uint8_t k, uint16_t intid) const {
  for (unsigned n = 0; n < lrs_; ++n) {
    if (static_cast<uint32_t>(cpu[k].lr[n]) == intid && CpuInterface::state(cpu[k].lr[n]) != LrState::invalid) {
      return CpuInterface::state(cpu[k].lr[n]);
    }
  }
  return LrState::invalid;
}

std::string Machine::hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

void Machine::trace(const std::string& line) {
  trace_.push_back(line);
  if (trace_.size() > options_.trace_lines) trace_.pop_front();
}

std::string Machine::recent_trace() const {
  std::string text;
  for (const std::string& line : trace_) text += "  " + line + "\n";
  return text;
}

void Machine::violation(const std::string& what, Known cause) {
  if (cause != Known::none && ((options_.tolerated >> static_cast<unsigned>(cause)) & 1u) != 0) {
    ++stats.known[static_cast<size_t>(cause)];
    return;
  }
  if (violations.size() < 8) violations.push_back(what + "\n" + recent_trace());
  if (violations.size() == 8) violations.push_back("(more violations not recorded)");
}

std::string Machine::wanted_listing(uint8_t k) {
  std::string text;
  for (const Wanted& w : deliverable_to(k)) {
    text += " " + std::to_string(w.intid) + ":" + std::to_string(static_cast<int>(w.state));
  }
  return text;
}

std::string Machine::lr_listing(uint8_t k) const {
  std::string text;
  for (unsigned n = 0; n < lrs_; ++n) {
    const ListRegister lr = decode_list_register(cpu[k].lr[n]);
    text += (n == 0 ? "" : " ") + std::to_string(lr.virtual_intid) + ":" + std::to_string(static_cast<int>(lr.state));
  }
  return text;
}

bool Machine::holds_pending_active(uint8_t k) const {
  bool pending = false;
  bool pending_active = false;
  for (unsigned n = 0; n < lrs_; ++n) {
    pending = pending || CpuInterface::state(cpu[k].lr[n]) == LrState::pending;
    pending_active = pending_active || CpuInterface::state(cpu[k].lr[n]) == LrState::pending_active;
  }
  return pending_active && !pending;
}

bool Machine::in_any_lr(uint16_t intid) const {
  for (uint8_t j = 0; j < vcpus_; ++j) {
    for (unsigned n = 0; n < lrs_; ++n) {
      if ((static_cast<uint32_t>(cpu[j].lr[n]) == intid && CpuInterface::state(cpu[j].lr[n]) != LrState::invalid) ||
          (static_cast<uint32_t>(entered_lr_[j][n]) == intid &&
           CpuInterface::state(entered_lr_[j][n]) != LrState::invalid)) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace lr_model
