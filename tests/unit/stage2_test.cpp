#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/mmu/page_table.hpp"
#include "core/mmu/stage2.hpp"
#include "tests/sim/host_page_pool.hpp"

using namespace bulkhead;


TEST_CASE("stage 2: VTCR from the CPU's address sizes") {
  // QEMU cortex-a57: PARange 0b0100 (44 bits), 8-bit VMIDs.
  const Stage2Setup a57 = stage2_setup(0x4, 0x0);
  REQUIRE(a57.supported);
  CHECK(a57.physical_address_bits == 44);
  CHECK(a57.vmid_bits == 8);
  CHECK((a57.vtcr & 0x3f) == 24);          // T0SZ: 40-bit guest addresses
  CHECK(((a57.vtcr >> 6) & 3) == 2);       // SL0: level 0
  CHECK(((a57.vtcr >> 14) & 3) == 0);      // 4 KiB granule
  CHECK(((a57.vtcr >> 16) & 7) == 4);      // PS: 44 bits
  CHECK(((a57.vtcr >> 19) & 1) == 0);
  CHECK((a57.vtcr >> 31) == 1);

  const Stage2Setup big = stage2_setup(0x6, 0x20);  // 52-bit PA, 16-bit VMIDs
  REQUIRE(big.supported);
  CHECK(big.physical_address_bits == 52);
  CHECK(((big.vtcr >> 16) & 7) == 5);      // capped at 48 bits
  CHECK(((big.vtcr >> 19) & 1) == 1);
  CHECK(big.vmid_bits == 16);

  CHECK(stage2_setup(0x2, 0).supported);   // exactly 40 bits
  const Stage2Setup small = stage2_setup(0x1, 0);  // 36-bit PA: guests cannot have 40-bit IPAs
  CHECK_FALSE(small.supported);
  CHECK(small.physical_address_bits == 36);
  CHECK(physical_address_bits(0xf) == 0);
}

TEST_CASE("stage 2: VTTBR carries the VMID above the root") {
  CHECK(vttbr_value(0x4c001000, 3) == ((3ull << 48) | 0x4c001000));
}

TEST_CASE("stage 2: leaf descriptors encode MemAttr, S2AP and execute-never") {
  sim::HostPagePool pages;
  PageTable table(pages, Regime::stage2);
  REQUIRE(table.initialise());
  // Guest RAM at 0x40000000 backed by host 0x4c000000; a passed-through device page.
  REQUIRE(table.map(0x40000000, 0x4c000000, 0x40000000, {MemoryType::normal_write_back, true, true}) == MapResult::ok);
  REQUIRE(table.map(0x9010000, 0x9010000, 0x1000, {MemoryType::device_nGnRE, true, false}) == MapResult::ok);
  const auto ram = table.translate(0x40123000);
  REQUIRE(ram.mapped);
  CHECK(ram.physical == 0x4c123000);
  CHECK(((ram.descriptor >> 2) & 0xf) == 0xf);   // normal write-back
  CHECK(((ram.descriptor >> 6) & 3) == 3);       // S2AP read/write
  CHECK(((ram.descriptor >> 8) & 3) == 3);       // inner shareable
  CHECK((ram.descriptor & (1ull << 10)) != 0);   // access flag
  CHECK((ram.descriptor & (1ull << 54)) == 0);   // executable
  const auto device = table.translate(0x9010000);
  REQUIRE(device.mapped);
  CHECK(((device.descriptor >> 2) & 0xf) == 0x1);  // device nGnRE
  CHECK((device.descriptor & (1ull << 54)) != 0);  // never executable
  CHECK_FALSE(table.translate(0x9000000).mapped);  // the virtual UART is trapped, not mapped
  const uint64_t read_only = PageTable::leaf_attributes({MemoryType::normal_write_back, false, false}, Regime::stage2);
  CHECK(((read_only >> 6) & 3) == 1);            // S2AP read only
}
