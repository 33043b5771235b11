#include "pci/bars.hpp"

#include "core/lib/log.hpp"

namespace bulkhead::pci {
namespace {

constexpr uint32_t bar_io_space = 1u << 0;
constexpr uint32_t bar_memory_type_mask = 3u << 1;
constexpr uint32_t bar_memory_type_64 = 2u << 1;
constexpr uint32_t bar_memory_type_reserved = 3u << 1;
constexpr uint32_t bar_prefetchable = 1u << 3;
constexpr uint32_t bar_io_address_mask = 0xfffffffcu;
constexpr uint32_t bar_memory_address_mask = 0xfffffff0u;

// The size is the lowest writable address bit; higher bits may be hard-wired to zero.
uint64_t lowest_set_bit(uint64_t mask) { return mask & (~mask + 1); }

}  // namespace

ProbedBar probe_bar(ConfigAccessor& config, Bdf bdf, uint16_t offset, bool upper_half_available) {
  ProbedBar result;
  const uint32_t original = config.read32(bdf, offset);
  config.write32(bdf, offset, 0xffffffffu);
  const uint32_t probed = config.read32(bdf, offset);
  if (probed == 0) return result;  // hard-wired to zero: unimplemented, nothing to restore

  if ((probed & bar_io_space) != 0) {
    config.write32(bdf, offset, original);
    uint32_t mask = probed & bar_io_address_mask;
    result.io_16bit = (mask & 0xffff0000u) == 0;
    result.size = lowest_set_bit(mask);
    if (result.size != 0) result.kind = BarKind::io;
    return result;
  }

  const uint32_t type = probed & bar_memory_type_mask;
  result.prefetchable = (probed & bar_prefetchable) != 0;
  if (type == bar_memory_type_reserved || (type == bar_memory_type_64 && !upper_half_available)) {
    config.write32(bdf, offset, original);
    result.malformed = true;
    return result;
  }
  uint64_t mask = probed & bar_memory_address_mask;
  if (type == bar_memory_type_64) {
    const uint16_t upper = static_cast<uint16_t>(offset + 4);
    const uint32_t original_upper = config.read32(bdf, upper);
    config.write32(bdf, upper, 0xffffffffu);
    mask |= static_cast<uint64_t>(config.read32(bdf, upper)) << 32;
    config.write32(bdf, upper, original_upper);
    result.slots = 2;
  }
  config.write32(bdf, offset, original);
  result.size = lowest_set_bit(mask);
  if (result.size != 0) result.kind = type == bar_memory_type_64 ? BarKind::mem64 : BarKind::mem32;
  return result;
}

uint64_t probe_rom(ConfigAccessor& config, Bdf bdf, uint16_t offset) {
  const uint32_t original = config.read32(bdf, offset);
  config.write32(bdf, offset, reg::rom_address_mask);  // enable bit clear while probing
  const uint32_t probed = config.read32(bdf, offset) & reg::rom_address_mask;
  if (probed != 0 || original != 0) config.write32(bdf, offset, original);
  if (probed == 0) return 0;
  return lowest_set_bit(probed);
}

bool size_function_bars(ConfigAccessor& config, Function& function) {
  bool ok = true;
  const Bdf bdf = function.address.bdf;
  for (uint8_t slot = 0; slot < function.bar_count;) {
    const uint16_t offset = static_cast<uint16_t>(reg::bar0 + 4 * slot);
    const ProbedBar probed = probe_bar(config, bdf, offset, slot + 1 < function.bar_count);
    if (probed.malformed) {
      log::error("pci {} bar {} has a reserved type or no room for its upper half; ignored",
                 sbdf_text(function.address).text, slot);
      ok = false;
    } else if (probed.kind != BarKind::none) {
      Bar& bar = function.bars[slot];
      bar.kind = probed.kind;
      bar.prefetchable = probed.prefetchable;
      bar.io_16bit = probed.io_16bit;
      bar.size = probed.size;
    }
    slot = static_cast<uint8_t>(slot + probed.slots);
  }
  if (function.has_rom) {
    const uint64_t size = probe_rom(config, bdf, function.rom_register());
    if (size != 0) {
      function.rom.kind = BarKind::mem32;
      function.rom.size = size;
    }
  }
  return ok;
}

}  // namespace bulkhead::pci
