// Bring-up: global abort, probe, stream table, queues, invalidation, enable.
#include "smmu/driver.hpp"

#include "core/lib/log.hpp"
#include "core/mmu/stage2.hpp"
#include "smmu/registers.hpp"

namespace bulkhead::smmu {
namespace {

unsigned bit_width(uint64_t value) {
  unsigned bits = 0;
  while (value != 0) {
    ++bits;
    value >>= 1;
  }
  return bits;
}

}  // namespace

const char* bring_up_result_name(BringUpResult result) {
  switch (result) {
    case BringUpResult::enabled: return "enabled";
    case BringUpResult::absent: return "absent";
    case BringUpResult::refused: return "refused";
    case BringUpResult::stuck: return "stuck";
    case BringUpResult::out_of_memory: return "out-of-memory";
  }
  return "unknown";
}

uint64_t Driver::TablePages::allocate_zeroed_page() {
  const uint64_t page = memory_->allocate(PageTable::page_size);
  if (page == 0) return 0;
  if (low == 0 || page < low) low = page;
  if (page + PageTable::page_size > high) high = page + PageTable::page_size;
  return page;
}

bool Driver::poll32(uint32_t offset, uint32_t mask, uint32_t expected, const char* what) {
  const uint64_t start = hw_.clock->now_us();
  for (;;) {
    const uint32_t value = hw_.registers->read32(offset);
    if ((value & mask) == expected) return true;
    if (hw_.clock->now_us() - start >= hw_.timeout_us) {
      log::error("smmu-v3 {}: {} not acknowledged within {} us (register {} reads {}, expected {} under mask {}): the SMMU is stuck",
                 path_, what, hw_.timeout_us, hex(offset), hex(value), hex(expected), hex(mask));
      failed_ = true;
      return false;
    }
    hw_.clock->relax();
  }
}

bool Driver::write_cr0(uint32_t value) {
  hw_.registers->write32(reg::cr0, value);
  return poll32(reg::cr0ack, 0xffffffffu, value, "CR0");
}

bool Driver::write_irq_ctrl(uint32_t value) {
  hw_.registers->write32(reg::irq_ctrl, value);
  return poll32(reg::irq_ctrlack, 0xffffffffu, value, "IRQ_CTRL");
}

// GBPA decides what happens to DMA while SMMUEN is 0: abort it, from the first moment.
bool Driver::set_global_abort() {
  const auto update = static_cast<uint32_t>(gbpa::update::mask);
  if (!poll32(reg::gbpa, update, 0, "GBPA update")) return false;
  const uint32_t value = hw_.registers->read32(reg::gbpa) | static_cast<uint32_t>(gbpa::abort::mask);
  hw_.registers->write32(reg::gbpa, value | update);
  if (!poll32(reg::gbpa, update, 0, "GBPA update")) return false;
  // An implementation without GBPA (QEMU before 8.0) reads it as 0: bypass until SMMUEN.
  gbpa_honoured_ = gbpa::abort::get(hw_.registers->read32(reg::gbpa)) != 0;
  return true;
}

void Driver::collect_needs(const PlatformInfo& platform, Needs& needs) {
  streams_ = 0;
  for (size_t h = 0; h < platform.pcie_host_count; ++h) {
    const PcieHostInfo& host = platform.pcie_hosts[h];
    bool mapped = false;
    for (size_t i = 0; i < host.iommu_map.count && i < max_id_map_entries; ++i) {
      const IdMapEntry& entry = host.iommu_map.entries[i];
      if (entry.target_phandle != platform.smmu.phandle || entry.length == 0) continue;
      mapped = true;
      streams_ += entry.length;
      const unsigned bits = bit_width(static_cast<uint64_t>(entry.output_base) + entry.length - 1);
      if (bits > needs.sid_bits) {
        needs.sid_bits = bits;
        needs.sid_source = host.path.text;
      }
    }
    // Without an iommu-map to this SMMU the host bridge's DMA does not pass through it.
    if (!mapped) log::fact("smmu-v3 {} untranslated-host {}", path_, host.path.text);
  }
  for (size_t r = 0; r < platform.ram_count; ++r) {
    const uint64_t last = platform.ram[r].end() - 1;
    if (platform.ram[r].size != 0 && last > needs.highest_address) needs.highest_address = last;
  }
}

uint64_t Driver::stage2_vtcr() const {
  // The CPU's stage-2 layout (core/mmu/stage2.cpp): 40-bit IPA, level-0 start, 4 KiB
  // granule, write-back inner-shareable walks; output size capped by the SMMU's.
  const unsigned output_bits = features_.output_address_bits < 48 ? features_.output_address_bits : 48;
  return vtcr::t0sz::put(64 - stage2_ipa_bits) | vtcr::sl0::put(vtcr::sl0_level0_4k) |
         vtcr::irgn0::put(ste::walk_write_back) | vtcr::orgn0::put(ste::walk_write_back) |
         vtcr::sh0::put(shareable_inner) | vtcr::tg0::put(vtcr::tg0_4k) | vtcr::ps::put(address_size_encoding(output_bits));
}

BringUpResult Driver::abort_bypass(const PlatformInfo& platform, uint64_t timeout_us) {
  if (!platform.smmu.present) return BringUpResult::absent;
  path_ = platform.smmu.path.text;
  hw_.timeout_us = timeout_us;
  enabled_ = failed_ = false;
  if (!set_global_abort()) return BringUpResult::stuck;
  // Firmware may have left translation on, with tables that let DMA through.
  if (cr0::smmuen::get(hw_.registers->read32(reg::cr0)) != 0 && !write_cr0(0)) return BringUpResult::stuck;
  return BringUpResult::enabled;
}

BringUpResult Driver::bring_up(const PlatformInfo& platform, const BringUpOptions& options) {
  const BringUpResult bypass = abort_bypass(platform, options.timeout_us);
  if (bypass != BringUpResult::enabled) return bypass;

  uint32_t idr[6];
  for (uint32_t i = 0; i < 6; ++i) idr[i] = hw_.registers->read32(reg::idr0 + 4 * i);
  features_ = decode_features(idr, hw_.registers->read32(reg::iidr), hw_.registers->read32(reg::aidr));
  hw_.coherent = features_.coherent;
  Needs needs;
  needs.context_count = options.context_count;
  needs.guest_address_bits = dma_address_bits;
  collect_needs(platform, needs);
  choice_ = choose_stage(features_, needs);
  if (!choice_.usable) {
    log::error("smmu-v3 {}: cannot be used: {}; it stays off, global bypass {}", path_, choice_.refusal.c_str(),
               gbpa_honoured_ ? "aborts" : "is not honoured");
    return BringUpResult::refused;
  }
  if (choice_.stage == Stage::two && options.cpu_vtcr != 0) {
    if ((options.cpu_vtcr & vtcr::layout) != (stage2_vtcr() & vtcr::layout)) {
      log::error("smmu-v3 {}: cannot be used: the CPU's stage 2 (VTCR {}) has another layout than the SMMU's ({})", path_,
                 hex(options.cpu_vtcr), hex(stage2_vtcr()));
      return BringUpResult::refused;
    }
  }
  if (choice_.stage2_note.size() != 0) log::fact("smmu-v3 {} stage-2 unused: {}", path_, choice_.stage2_note.c_str());

  // Whatever firmware left running stops; GBPA aborts meanwhile.
  if (!write_cr0(0) || !write_irq_ctrl(0)) return BringUpResult::stuck;
  const uint64_t cache = hw_.coherent ? cr1::cache_write_back : cr1::cache_none;
  const uint64_t share = hw_.coherent ? shareable_inner : shareable_outer;
  hw_.registers->write32(reg::cr1, static_cast<uint32_t>(cr1::queue_ic::put(cache) | cr1::queue_oc::put(cache) |
                                                         cr1::queue_sh::put(share) | cr1::table_ic::put(cache) |
                                                         cr1::table_oc::put(cache) | cr1::table_sh::put(share)));
  hw_.registers->write32(reg::cr2, static_cast<uint32_t>(cr2::ptm::put(1) | cr2::recinvsid::put(1)));

  pages_.attach(hw_.memory);
  FixedBuffer<160> error;
  if (!table_.allocate(*hw_.memory, hw_.coherent, needs.sid_bits, features_.two_level_stream_table, error)) {
    log::error("smmu-v3 {}: {}", path_, error.c_str());
    return BringUpResult::out_of_memory;
  }
  for (size_t i = 0; i < options.present_stream_count; ++i) {
    bool added = false;
    if (!table_.populate(*hw_.memory, hw_.coherent, options.present_streams[i], added)) {
      log::error("smmu-v3 {}: no memory for the level-2 stream table of StreamID {}", path_, hex(options.present_streams[i]));
      return BringUpResult::out_of_memory;
    }
  }
  const unsigned cmdq_log2 = features_.cmdq_log2_max < cmdq_log2_entries ? features_.cmdq_log2_max : cmdq_log2_entries;
  const unsigned eventq_log2 = features_.eventq_log2_max < eventq_log2_entries ? features_.eventq_log2_max : eventq_log2_entries;
  if (!cmdq_.allocate(*hw_.memory, cmdq_log2) || !eventq_.allocate(*hw_.memory, eventq_log2)) {
    log::error("smmu-v3 {}: no memory for the command and event queues", path_);
    return BringUpResult::out_of_memory;
  }
  return enable(options);
}

BringUpResult Driver::enable(const BringUpOptions& options) {
  Registers& r = *hw_.registers;
  r.write64(reg::strtab_base, table_.base_register());
  r.write32(reg::strtab_base_cfg, table_.base_cfg_register());
  r.write64(reg::cmdq_base, cmdq_.base_register());
  r.write32(reg::cmdq_prod, 0);
  r.write32(reg::cmdq_cons, 0);
  r.write64(reg::eventq_base, eventq_.base_register());
  r.write32(reg::eventq_prod, 0);
  r.write32(reg::eventq_cons, 0);

  // What firmware left is reported and acknowledged before our queue starts; service
  // failure mode means the SMMU cannot be trusted with DMA isolation.
  if (!check_global_errors(nullptr)) return BringUpResult::stuck;
  uint32_t cr0_value = static_cast<uint32_t>(cr0::cmdqen::mask);
  if (!write_cr0(cr0_value)) return BringUpResult::stuck;
  // Nothing cached from before (firmware's tables) may survive.
  const Command invalidate[] = {cfgi_all(), tlbi_nsnh_all()};
  if (!issue(invalidate, 2, "invalidating everything at bring-up") || !sync("invalidating everything at bring-up")) {
    return BringUpResult::stuck;
  }
  cr0_value |= static_cast<uint32_t>(cr0::eventqen::mask);
  if (!write_cr0(cr0_value)) return BringUpResult::stuck;

  if (!check_global_errors(nullptr)) return BringUpResult::stuck;  // anything the invalidation raised
  if (features_.msi) {
    // Wired interrupts: no MSI address.
    r.write64(reg::gerror_irq_cfg0, 0);
    r.write64(reg::eventq_irq_cfg0, 0);
  }
  if (options.enable_interrupts &&
      !write_irq_ctrl(static_cast<uint32_t>(irq_ctrl::gerror_irqen::mask | irq_ctrl::eventq_irqen::mask))) {
    return BringUpResult::stuck;
  }
  cr0_value |= static_cast<uint32_t>(cr0::smmuen::mask);
  if (!write_cr0(cr0_value)) return BringUpResult::stuck;
  enabled_ = true;
  log::fact("smmu-v3 {} stage {} streams {} sid-bits {} table {} l2-tables {} cmdq {} eventq {} memory {} gbpa {} coherent {}",
            path_, static_cast<unsigned>(choice_.stage), streams_, table_.sid_bits(),
            table_.two_level() ? "2-level" : "linear", table_.l2_tables(), cmdq_.index().entries(),
            eventq_.index().entries(), hex(hw_.memory->used_bytes()), gbpa_honoured_ ? "abort" : "not-honoured",
            hw_.coherent ? "yes" : "no");
  return BringUpResult::enabled;
}

bool Driver::queue_failed(QueueStatus status, const char* why) {
  if (status == QueueStatus::ok) return false;
  if (status == QueueStatus::command_error) {
    log::error("smmu-v3 {}: {}: the SMMU refused {} (CMDQ_CONS.ERR {}); it was skipped", path_, why,
               opcode_name(cmdq_.error_opcode()), cmdq_.error_code());
    return true;
  }
  log::error("smmu-v3 {}: {}: the command queue did not drain within {} us (CMDQ_PROD {} CMDQ_CONS {}): the SMMU is stuck",
             path_, why, hw_.timeout_us, hex(cmdq_.last_prod()), hex(cmdq_.last_cons()));
  failed_ = true;
  return true;
}

bool Driver::issue(const Command* commands, size_t count, const char* why) {
  if (failed_) return false;
  return !queue_failed(cmdq_.submit(hw_, commands, count), why);
}

bool Driver::sync(const char* why) {
  if (failed_) return false;
  return !queue_failed(cmdq_.sync(hw_), why);
}

}  // namespace bulkhead::smmu
