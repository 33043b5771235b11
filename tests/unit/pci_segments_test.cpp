#include <doctest/doctest.h>

#include "pci/segments.hpp"
#include "tests/sim/pci_harness.hpp"

using namespace bulkhead;
using namespace bulkhead::sim;

namespace {

PcieHostInfo host_named(const char* path, bool explicit_domain = false, uint32_t domain = 0) {
  PcieHostInfo host = qemu_host(path);
  host.domain_from_dt = explicit_domain;
  host.domain = domain;
  return host;
}

struct Assigned {
  std::vector<pci::SegmentAssignment> out;
  std::vector<std::string> errors;
  bool ok;
};

Assigned assign(const std::vector<PcieHostInfo>& hosts) {
  CapturedLog captured;
  Assigned result;
  result.out.resize(hosts.size());
  result.ok = pci::assign_segments(hosts.data(), hosts.size(), result.out.data());
  result.errors = captured.errors();
  return result;
}

}  // namespace

TEST_CASE("pci segments: all assigned, in DT order") {
  const Assigned a = assign({host_named("/a"), host_named("/b"), host_named("/c")});
  CHECK(a.ok);
  CHECK(a.errors.empty());
  for (size_t i = 0; i < 3; ++i) {
    CHECK(a.out[i].valid);
    CHECK_FALSE(a.out[i].from_dt);
    CHECK(a.out[i].number == i);
  }
}

TEST_CASE("pci segments: explicit numbers honoured, assigned ones avoid them, later nodes included") {
  const Assigned a = assign({host_named("/a"), host_named("/b", true, 0), host_named("/c"), host_named("/d", true, 2),
                             host_named("/e", true, 7)});
  CHECK(a.ok);
  CHECK(a.out[0].number == 1);  // 0 is claimed by a later node
  CHECK(a.out[1].number == 0);
  CHECK(a.out[1].from_dt);
  CHECK(a.out[2].number == 3);  // 2 is claimed by /d
  CHECK(a.out[3].number == 2);
  CHECK(a.out[4].number == 7);
}

TEST_CASE("pci segments: two nodes claiming one number") {
  const Assigned a = assign({host_named("/pcie@10000000", true, 0), host_named("/pcie@20000000", true, 0),
                             host_named("/pcie@30000000")});
  CHECK_FALSE(a.ok);
  REQUIRE(a.errors.size() == 1);
  CHECK(a.errors[0] ==
        "bulkhead: error: pci-segment: /pcie@10000000 and /pcie@20000000 both claim linux,pci-domain 0; "
        "/pcie@20000000 not enumerated");
  CHECK(a.out[0].valid);
  CHECK_FALSE(a.out[1].valid);
  CHECK(a.out[2].valid);
  CHECK(a.out[2].number == 1);
}

TEST_CASE("pci segments: a number beyond 16 bits") {
  const Assigned a = assign({host_named("/pcie@10000000", true, 0x10000), host_named("/b")});
  CHECK_FALSE(a.ok);
  REQUIRE(a.errors.size() == 1);
  CHECK(a.errors[0] == "bulkhead: error: pci-segment: /pcie@10000000: linux,pci-domain 65536 is above 65535; host bridge not enumerated");
  CHECK_FALSE(a.out[0].valid);
  CHECK(a.out[1].number == 0);
}

namespace {

// Two host bridges splitting one ECAM's bus range (like QEMU's pxb-pcie), each with its
// own memory windows.
struct TwoHosts {
  SimEcam low{0x00}, high{0x80};
  PciHarness h;
  TwoHosts(bool low_explicit, uint32_t low_domain, bool high_explicit, uint32_t high_domain) {
    PcieHostInfo a = qemu_host("/pcie@10000000", 0x00, 0x7f, 0x4010000000ull);
    a.domain_from_dt = low_explicit;
    a.domain = low_domain;
    a.windows[1] = {PciSpace::mem32, false, 0x10000000, 0x10000000, 0x10000000};
    a.windows[2] = {PciSpace::mem64, true, 0x8000000000ull, 0x8000000000ull, 0x4000000000ull};
    PcieHostInfo b = qemu_host("/pcie@20000000", 0x80, 0xff, 0x4018000000ull);
    b.domain_from_dt = high_explicit;
    b.domain = high_domain;
    b.windows[0] = {PciSpace::io, false, 0x8000, 0x3eff8000, 0x8000};
    b.windows[1] = {PciSpace::mem32, false, 0x20000000, 0x20000000, 0x10000000};
    b.windows[2] = {PciSpace::mem64, true, 0xc000000000ull, 0xc000000000ull, 0x4000000000ull};
    low.root().root_port(1).secondary()->pcie_endpoint(0).bar(0, BarType::mem32, 0x1000).bar(2, BarType::mem64, 0x100000, true);
    high.root().add(0, 0, 0x1b36, 0x000b, 0x060000);  // pxb-pcie host bridge function
    high.root().root_port(1).secondary()->pcie_endpoint(0).bar(0, BarType::mem32, 0x1000).bar(1, BarType::io32, 0x20);
    h.add_host(a, &low);
    h.add_host(b, &high);
  }
};

}  // namespace

TEST_CASE("pci segments: two host bridges, mixed explicit and assigned numbers") {
  TwoHosts t(true, 1, false, 0);
  REQUIRE(t.h.enumerate());
  CHECK(t.h.errors.empty());
  const pci::PciTopology& topo = *t.h.topology;
  REQUIRE(topo.segment_count == 2);
  CHECK(topo.segments[0].number == 1);
  CHECK(topo.segments[1].number == 0);
  // The second root bus is 0x80; its bridges are numbered from 0x81.
  CHECK(t.h.function(0, 0x80, 1, 0).bridge.secondary == 0x81);
  CHECK(t.h.has(0, 0x81, 0, 0));
  CHECK(t.h.has(1, 0x01, 0, 0));
  CHECK(t.high.reachable({0x81, 0, 0}) != nullptr);
  const pci::Function& low_endpoint = t.h.function(1, 1, 0, 0);
  const pci::Function& high_endpoint = t.h.function(0, 0x81, 0, 0);
  CHECK(low_endpoint.bars[0].bus_address >= 0x10000000);
  CHECK(low_endpoint.bars[0].bus_address < 0x20000000);
  CHECK(low_endpoint.bars[2].bus_address == 0x8000000000ull);  // prefetchable 64-bit host window
  CHECK(high_endpoint.bars[0].bus_address >= 0x20000000);
  CHECK(high_endpoint.bars[1].bus_address == 0x8000);
  CHECK(high_endpoint.bars[1].cpu_address == 0x3eff8000);
  CHECK(high_endpoint.address.segment == 0);
  CHECK(high_endpoint.segment_index == 1);
  const auto report = t.h.report();
  CHECK(report.front() == "bulkhead: pci-segment 0001 host /pcie@10000000 source dt buses 00-7f ecam 0x4010000000");
  CHECK(std::find(report.begin(), report.end(),
                  "bulkhead: pci-segment 0000 host /pcie@20000000 source assigned buses 80-ff ecam 0x4018000000") !=
        report.end());
  CHECK(joined(resource_problems(topo, topo.segments[0], t.low)) == "");
  CHECK(joined(resource_problems(topo, topo.segments[1], t.high)) == "");
}

TEST_CASE("pci segments: a clashing second host bridge is not enumerated, the first is") {
  TwoHosts t(true, 0, true, 0);
  CHECK_FALSE(t.h.enumerate());
  REQUIRE(t.h.errors.size() == 1);
  CHECK(t.h.errors[0] ==
        "bulkhead: error: pci-segment: /pcie@10000000 and /pcie@20000000 both claim linux,pci-domain 0; "
        "/pcie@20000000 not enumerated");
  REQUIRE(t.h.topology->segment_count == 1);
  CHECK(t.h.has(0, 1, 0, 0));
  CHECK(t.high.accesses() == 0);  // never touched
}

TEST_CASE("pci segments: host bridge problems") {
  SUBCASE("no accessor") {
    PciHarness h;
    h.add_host(qemu_host(), nullptr);
    CHECK_FALSE(h.enumerate());
    REQUIRE(h.errors.size() == 1);
    CHECK(h.errors[0] == "bulkhead: error: pci-segment 0000: /pcie@10000000 has no config-space access; not enumerated");
  }
  SUBCASE("ECAM smaller than the bus range") {
    SimEcam ecam;
    ecam.root().root_port(1).secondary()->pcie_endpoint(0);
    ecam.root().root_port(2).secondary()->pcie_endpoint(0);
    PcieHostInfo host = qemu_host();
    host.ecam.size = 2 << 20;
    PciHarness h;
    h.add_host(host, &ecam);
    CHECK_FALSE(h.enumerate());
    REQUIRE(h.errors.size() == 2);
    CHECK(h.errors[0] == "bulkhead: error: pci-segment 0000: /pcie@10000000 ecam size 0x200000 only covers buses 00-01; using that range");
    CHECK(h.errors[1] == "bulkhead: error: pci-bridge 0000:00:02.0: no bus numbers left (range 00-01); subtree not enumerated");
    CHECK(h.topology->segments[0].bus_last == 1);
  }
  SUBCASE("empty bus range") {
    PcieHostInfo host = qemu_host();
    host.bus_first = 5;
    host.bus_last = 4;
    SimEcam ecam;
    PciHarness h;
    h.add_host(host, &ecam);
    CHECK_FALSE(h.enumerate());
    REQUIRE(h.errors.size() == 1);
    CHECK(h.errors[0] == "bulkhead: error: pci-segment 0000: /pcie@10000000 bus-range 05-04 is empty; not enumerated");
  }
}

TEST_CASE("pci segments: ECAM offsets start at the first bus of bus-range") {
  CHECK(pci::ecam_offset(0, {0, 0, 0}, 0) == 0);
  CHECK(pci::ecam_offset(0, {1, 2, 3}, 0x104) == (1u << 20 | 2u << 15 | 3u << 12 | 0x104));
  CHECK(pci::ecam_offset(0x80, {0x80, 0, 0}, 0x10) == 0x10);
  CHECK(pci::ecam_offset(0x80, {0x81, 31, 7}, 0xffc) == (1u << 20 | 31u << 15 | 7u << 12 | 0xffc));
}
