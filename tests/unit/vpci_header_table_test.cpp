// The trap path's shortcut into the virtual bus (VirtualPciBus::header_table_read and
// header_table_write): whatever it answers, config_read() and config_write() answer the
// same, for every header offset at every aligned width, present and absent functions, and
// after what changes the answers (a reset reading the identity again, a capability linked).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "pci/vpci/virtual_bus.hpp"
#include "tests/sim/vpci_harness.hpp"

using namespace bulkhead;
using namespace bulkhead::sim;

namespace {

constexpr uint8_t slot = 5;
constexpr uint8_t sizes[] = {1, 2, 4};

// A PCIe endpoint with a BAR, INTA, PM and MSI; physical values in the header dwords the
// guest must not see.
struct TableFixture : VpciFixture {
  SimFunction* sim = nullptr;
  explicit TableFixture(bool legacy_intx = true) {
    SimFunction& f = root().pcie_endpoint(2, 0, 0x8086, 0x10d3, 0x020000);
    f.bar(0, BarType::mem32, 0x20000).rom(0x40000).pin(1);
    f.pm();
    f.msi(1, true, false);
    f.poke32(0x28, 0x55555555);  // CardBus CIS pointer
    f.poke32(0x2c, 0x00011af4);  // subsystem IDs
    f.poke32(0x38, 0x66666666);  // reserved
    sim = &f;
    enumerate();
    give(2, 0, slot);
    configure(legacy_intx);
  }
};

// Every base the guest may probe: the function, absent slots, other functions, other buses.
std::vector<uint64_t> probed_bases() {
  std::vector<uint64_t> bases;
  for (const uint8_t s : {0, 1, 5, 6, 31}) bases.push_back(VpciFixture::ecam_offset(s, 0));
  for (uint64_t function = 1; function < 8; ++function) bases.push_back(VpciFixture::ecam_offset(slot, 0) | function << 12);
  for (const uint64_t bus : {1, 15}) bases.push_back(bus << 20 | VpciFixture::ecam_offset(slot, 0));
  return bases;
}

// The table's read of every header offset and the one past it agrees with the full
// decode's; returns how many it answered.
int check_reads_agree(VpciFixture& f) {
  int answered = 0;
  for (const uint64_t base : probed_bases()) {
    for (uint64_t offset = 0; offset < 0x48; ++offset) {
      for (const uint8_t size : sizes) {
        if (offset % size != 0) continue;
        CAPTURE(base);
        CAPTURE(offset);
        CAPTURE(size);
        uint32_t value = 0x12345678;
        if (!f.bus->header_table_read(base + offset, size, value)) {
          CHECK(value == 0x12345678);  // untouched when the full decode must answer
          continue;
        }
        ++answered;
        const pci::vpci::ReadResult full = f.bus->config_read(base + offset, size);
        CHECK(full.ok);
        CHECK(value == full.value);
      }
    }
  }
  return answered;
}

// What the guest sees of the function's header, the whole of it.
std::vector<uint32_t> header_view(VpciFixture& f) {
  std::vector<uint32_t> view;
  for (uint16_t offset = 0; offset < 0x40; offset += 4) view.push_back(f.read32(slot, offset));
  return view;
}

}  // namespace

TEST_CASE("vpci header table: every read it answers is the full decode's, identity and absent functions included") {
  for (const bool legacy_intx : {false, true}) {
    CAPTURE(legacy_intx);
    TableFixture f(legacy_intx);
    CHECK(check_reads_agree(f) > 0);
    // The reads the trap path is for are answered by the table.
    uint32_t value = 0;
    CHECK(f.bus->header_table_read(VpciFixture::ecam_offset(slot, 0x00), 2, value));
    CHECK(value == 0x8086);
    CHECK(f.bus->header_table_read(VpciFixture::ecam_offset(slot, 0x02), 2, value));
    CHECK(value == 0x10d3);
    CHECK(f.bus->header_table_read(VpciFixture::ecam_offset(slot, 0x0b), 1, value));
    CHECK(value == 0x02);
    CHECK(f.bus->header_table_read(VpciFixture::ecam_offset(1, 0x00), 4, value));
    CHECK(value == 0xffffffffu);
    // Registers that read the device or hold guest state are not.
    for (const uint16_t offset : {0x04, 0x10, 0x3c, 0x40, 0x100}) {
      CAPTURE(offset);
      CHECK_FALSE(f.bus->header_table_read(VpciFixture::ecam_offset(slot, offset), 4, value));
    }
  }
}

TEST_CASE("vpci header table: the writes it takes leave what config_write() would, and touch nothing") {
  const uint32_t values[] = {0, 0x5a, 0xffffffffu};
  for (const uint64_t base : probed_bases()) {
    for (uint16_t offset = 0; offset < 0x48; ++offset) {
      for (const uint8_t size : sizes) {
        if (offset % size != 0) continue;
        for (const uint32_t value : values) {
          const uint32_t data = value & (size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1);
          TableFixture table;
          if (!table.bus->header_table_write(base + offset, data)) continue;
          CAPTURE(base);
          CAPTURE(offset);
          CAPTURE(size);
          CAPTURE(data);
          TableFixture full;
          CHECK(full.bus->config_write(base + offset, size, data));
          CHECK(table.host.take().empty());
          CHECK(full.host.take().empty());  // no unhandled-write line either: the table only takes silent ones
          CHECK(header_view(table) == header_view(full));
        }
      }
    }
  }
  // The trap path's benchmark write, the Interrupt Line, is one of them; the reserved dword is not.
  TableFixture f;
  CHECK(f.bus->header_table_write(VpciFixture::ecam_offset(slot, 0x3c), 0x2a));
  CHECK(f.read8(slot, 0x3c) == 0x2a);
  CHECK_FALSE(f.bus->header_table_write(VpciFixture::ecam_offset(slot, 0x38), 0x1));
  CHECK_FALSE(f.bus->header_table_write(VpciFixture::ecam_offset(slot, 0x04), 0x2));
}

TEST_CASE("vpci header table: a reset reads the identity again, and the pointer agrees after a capability is linked") {
  TableFixture f;
  f.sim->poke16(0x02, 0x10d4);  // the function comes back from its reset as another device
  f.sim->poke32(0x2c, 0x00021af4);
  CHECK(f.bus->reset_function(slot));
  uint32_t value = 0;
  CHECK(f.bus->header_table_read(VpciFixture::ecam_offset(slot, 0x02), 2, value));
  CHECK(value == 0x10d4);
  CHECK(f.bus->header_table_read(VpciFixture::ecam_offset(slot, 0x2c), 4, value));
  CHECK(value == 0x00021af4);
  CHECK(check_reads_agree(f) > 0);

  struct Msi final : pci::vpci::CapabilityHandler {
    uint32_t read_config(uint16_t) override { return 0; }
    void write_config(uint16_t, uint32_t, uint8_t) override {}
    uint32_t read_trapped(uint8_t, uint64_t, pci::AccessWidth) override { return 0; }
    void write_trapped(uint8_t, uint64_t, pci::AccessWidth, uint32_t) override {}
    void reset() override {}
  } msi;
  const uint32_t pointer_before = f.read8(slot, 0x34);
  CHECK(f.bus->attach_capability(slot, pci::vpci::CapabilityKind::msi, msi));
  CHECK(check_reads_agree(f) > 0);
  CHECK(f.bus->header_table_read(VpciFixture::ecam_offset(slot, 0x34), 1, value));
  CHECK(value == f.read8(slot, 0x34));
  CHECK(value != 0);
  CHECK(pointer_before != 0);
}
