#include <doctest/doctest.h>

#include "tests/sim/pci_harness.hpp"

using namespace bulkhead;
using namespace bulkhead::sim;

namespace {

struct SingleHost {
  SimEcam ecam;
  PciHarness h;
  SingleHost() { h.add_host(qemu_host(), &ecam); }
  SimBus& root() { return ecam.root(); }
};

std::vector<std::string> lines_for(const std::vector<std::string>& report, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& l : report) {
    if (l.rfind(prefix, 0) == 0) out.push_back(l);
  }
  return out;
}

}  // namespace

TEST_CASE("pci capabilities: standard and extended lists") {
  SingleHost s;
  s.root().pcie_endpoint(2)
      .bar(0, BarType::mem64, 0x4000)
      .pm()
      .msi(3, true, true)
      .msix(64, 0, 0x2000, 0, 0x3000)
      .aer()
      .acs()
      .sriov(7, {{0, BarType::mem64, 0x4000, true}, {2, BarType::mem32, 0x1000, false}, {5, BarType::mem32, 0x800000, true}});
  s.root().endpoint(3).msi(0, false, false);
  REQUIRE(s.h.enumerate());
  CHECK(s.h.errors.empty());
  const pci::Capabilities& caps = s.h.function(0, 0, 2, 0).caps;
  CHECK(caps.pcie.offset == 0x40);
  CHECK(caps.pcie.port_type == pci::port_type::endpoint);
  CHECK(caps.pcie.version == 2);
  CHECK(caps.power_management != 0);
  CHECK(caps.msi.vectors == 8);
  CHECK(caps.msi.address_64bit);
  CHECK(caps.msi.per_vector_mask);
  CHECK(caps.msix.table_size == 64);
  CHECK(caps.msix.table_bar == 0);
  CHECK(caps.msix.table_offset == 0x2000);
  CHECK(caps.msix.pba_bar == 0);
  CHECK(caps.msix.pba_offset == 0x3000);
  CHECK(caps.aer == 0x100);
  CHECK(caps.acs != 0);
  CHECK(caps.sriov.offset != 0);
  CHECK(caps.sriov.total_vfs == 7);
  CHECK(caps.sriov.initial_vfs == 7);
  CHECK(caps.sriov.first_vf_offset == 0x80);
  CHECK(caps.sriov.vf_stride == 1);
  CHECK(caps.sriov.vf_device_id == 0x10ed);
  CHECK(caps.sriov.vf_bars[0].kind == pci::BarKind::mem64);
  CHECK(caps.sriov.vf_bars[0].size == 0x4000);
  CHECK(caps.sriov.vf_bars[1].kind == pci::BarKind::none);
  CHECK(caps.sriov.vf_bars[2].size == 0x1000);
  CHECK(caps.sriov.vf_bars[5].size == 0x800000);
  CHECK_FALSE(caps.standard_list_broken);
  CHECK_FALSE(caps.extended_list_broken);

  const auto report = s.h.report();
  CHECK(lines_for(report, "bulkhead: pci-cap 0000:00:02.0") == std::vector<std::string>{
                                                                   "bulkhead: pci-cap 0000:00:02.0 pcie type endpoint",
                                                                   "bulkhead: pci-cap 0000:00:02.0 pm",
                                                                   "bulkhead: pci-cap 0000:00:02.0 msi vectors 8 64bit yes mask yes",
                                                                   "bulkhead: pci-cap 0000:00:02.0 msix table-size 64 table bar 0 offset 0x2000 pba bar 0 offset 0x3000",
                                                                   "bulkhead: pci-cap 0000:00:02.0 acs",
                                                                   "bulkhead: pci-cap 0000:00:02.0 aer",
                                                                   "bulkhead: pci-cap 0000:00:02.0 sriov total-vfs 7",
                                                               });
  CHECK(lines_for(report, "bulkhead: pci-vf-bar") == std::vector<std::string>{
                                                         "bulkhead: pci-vf-bar 0000:00:02.0 0 mem64 pref size 0x4000",
                                                         "bulkhead: pci-vf-bar 0000:00:02.0 2 mem32 size 0x1000",
                                                         "bulkhead: pci-vf-bar 0000:00:02.0 5 mem32 pref size 0x800000",
                                                     });
  CHECK(lines_for(report, "bulkhead: pci-cap 0000:00:03.0") ==
        std::vector<std::string>{"bulkhead: pci-cap 0000:00:03.0 msi vectors 1 64bit no mask no"});
  // A conventional function has no extended space: 0x100 is never read as a capability.
  CHECK(s.h.function(0, 0, 3, 0).caps.aer == 0);
}

TEST_CASE("pci capabilities: a standard list that loops is cut") {
  SingleHost s;
  SimFunction& f = s.root().endpoint(2).bar(0, BarType::mem32, 0x1000);
  f.pm();                          // 0x40 -> 0x48
  f.msi(1, false, false);          // 0x48 -> 0x60
  f.poke8(0x49, 0x48);             // MSI points at itself
  CHECK_FALSE(s.h.enumerate());
  REQUIRE(s.h.errors.size() == 1);
  CHECK(s.h.errors[0] == "bulkhead: error: pci 0000:00:02.0 capability list loops at 0x48");
  const pci::Function& fn = s.h.function(0, 0, 2, 0);
  CHECK(fn.caps.standard_list_broken);
  CHECK(fn.caps.power_management == 0x40);
  CHECK(fn.caps.msi.vectors == 2);
  CHECK(fn.usable);  // a broken list is reported, the function still works
  CHECK(fn.bars[0].assigned);
}

TEST_CASE("pci capabilities: a longer loop back to the head") {
  SingleHost s;
  SimFunction& f = s.root().endpoint(2);
  f.pm();
  f.pm();
  f.pm();
  f.poke8(f.last_capability() + 1, 0x40);
  CHECK_FALSE(s.h.enumerate());
  REQUIRE(s.h.errors.size() == 1);
  CHECK(s.h.errors[0] == "bulkhead: error: pci 0000:00:02.0 capability list loops at 0x40");
  CHECK(s.ecam.reads_of({0, 2, 0}) < 40);
}

TEST_CASE("pci capabilities: malformed pointers") {
  SUBCASE("first pointer inside the header") {
    SingleHost s;
    SimFunction& f = s.root().endpoint(2);
    f.pm();
    f.poke8(0x34, 0x20);
    CHECK_FALSE(s.h.enumerate());
    REQUIRE(s.h.errors.size() == 1);
    CHECK(s.h.errors[0] == "bulkhead: error: pci 0000:00:02.0 capability pointer 0x20 at 0x34 is malformed");
  }
  SUBCASE("unaligned next pointer") {
    SingleHost s;
    SimFunction& f = s.root().endpoint(2);
    f.pm();
    f.poke8(0x41, 0x3d);
    CHECK_FALSE(s.h.enumerate());
    REQUIRE(s.h.errors.size() == 1);
    CHECK(s.h.errors[0] == "bulkhead: error: pci 0000:00:02.0 capability pointer 0x3d at 0x41 is malformed");
    CHECK(s.h.function(0, 0, 2, 0).caps.power_management == 0x40);
  }
  SUBCASE("extended pointer below 0x100") {
    SingleHost s;
    SimFunction& f = s.root().pcie_endpoint(2).aer();
    f.poke32(0x100, f.peek32(0x100) | 0x080u << 20);
    CHECK_FALSE(s.h.enumerate());
    REQUIRE(s.h.errors.size() == 1);
    CHECK(s.h.errors[0] == "bulkhead: error: pci 0000:00:02.0 extended capability pointer 0x80 at 0x102 is malformed");
    CHECK(s.h.function(0, 0, 2, 0).caps.aer == 0x100);
    CHECK(s.h.function(0, 0, 2, 0).caps.extended_list_broken);
  }
  SUBCASE("MSI-X naming a BAR that cannot exist") {
    SingleHost s;
    s.root().endpoint(2).msix(4, 7, 0, 0, 0x800);
    CHECK_FALSE(s.h.enumerate());
    REQUIRE(s.h.errors.size() == 1);
    CHECK(s.h.errors[0] == "bulkhead: error: pci 0000:00:02.0 msix capability at 0x40 names bar 7 / 0; no such bar");
  }
}

TEST_CASE("pci capabilities: an extended list that loops") {
  SingleHost s;
  SimFunction& f = s.root().pcie_endpoint(2).aer().acs();
  const uint16_t acs = f.last_extended_capability();
  f.poke32(acs, (f.peek32(acs) & 0xfffff) | 0x100u << 20);  // ACS -> AER
  CHECK_FALSE(s.h.enumerate());
  REQUIRE(s.h.errors.size() == 1);
  CHECK(s.h.errors[0] == "bulkhead: error: pci 0000:00:02.0 extended capability list loops at 0x100");
  CHECK(s.h.function(0, 0, 2, 0).caps.acs == acs);
}

TEST_CASE("pci capabilities: a full-length valid standard list is not mistaken for a loop") {
  SingleHost s;
  SimFunction& f = s.root().endpoint(2);
  for (int i = 0; i < 48; ++i) f.add_capability(0x09, 4);  // vendor-specific, one dword each
  CHECK(f.last_capability() == 0xfc);
  REQUIRE(s.h.enumerate());
  CHECK(s.h.errors.empty());
}

TEST_CASE("pci capabilities: a function that answers all ones in extended space") {
  SingleHost s;
  SimFunction& f = s.root().pcie_endpoint(2);
  for (uint16_t off = 0x100; off < 0x1000; off += 4) f.poke32(off, 0xffffffffu);
  REQUIRE(s.h.enumerate());
  CHECK(s.h.errors.empty());
}
