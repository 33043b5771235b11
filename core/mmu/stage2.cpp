#include "core/mmu/stage2.hpp"

namespace bulkhead {

unsigned physical_address_bits(uint64_t id_aa64mmfr0) {
  static constexpr unsigned bits[] = {32, 36, 40, 42, 44, 48, 52};
  const uint64_t pa_range = id_aa64mmfr0 & 0xf;
  return pa_range < sizeof(bits) / sizeof(bits[0]) ? bits[pa_range] : 0;
}

Stage2Setup stage2_setup(uint64_t id_aa64mmfr0, uint64_t id_aa64mmfr1) {
  Stage2Setup setup;
  setup.physical_address_bits = physical_address_bits(id_aa64mmfr0);
  setup.vmid_bits = ((id_aa64mmfr1 >> 4) & 0xf) == 2 ? 16 : 8;
  if (setup.physical_address_bits < stage2_ipa_bits) return setup;
  // Output size: the CPU's, capped at the 48 bits our descriptors carry.
  const uint64_t ps = setup.physical_address_bits >= 48 ? 5 : (id_aa64mmfr0 & 0xf);
  setup.vtcr = (64 - stage2_ipa_bits)           // T0SZ
               | (2ull << 6)                    // SL0: start at level 0 (4 KiB granule)
               | (1ull << 8) | (1ull << 10)     // inner/outer write-back table walks
               | (3ull << 12)                   // inner shareable; TG0 (bits 15:14) 0: 4 KiB
               | (ps << 16)                     // PS
               | (setup.vmid_bits == 16 ? 1ull << 19 : 0)  // VS: 16-bit VMIDs
               | (1ull << 31);                  // RES1
  setup.supported = true;
  return setup;
}

}  // namespace bulkhead
