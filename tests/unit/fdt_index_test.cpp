// fdt::Index against libfdt itself: the same verdict as fdt_check_full() on every blob,
// sound or broken, and for a sound one the same answer to every lookup it replaces.
#include "core/lib/fdt_index.hpp"

#include "core/lib/runtime.hpp"

#include <doctest/doctest.h>
#include <libfdt.h>

#include <cstring>
#include <string>
#include <vector>

#include "tests/unit/firmware_dt_support.hpp"

using namespace bulkhead;
using bulkhead::firmware_dt_test::Dtb;

namespace {

std::vector<fdt::IndexedNode> storage(4096);

std::string text(const void* value, size_t length) { return {static_cast<const char*>(value), length}; }

// Every query of the index on every node, compared with the libfdt call it stands for.
// A corrupted name holding a '/' (the DT spec forbids it) gets a plain path from the
// index, where fdt_get_path() would stop at that '/' when it backs out of the node and
// mangle the paths after it: then paths are left out.
void compare_with_libfdt(const void* blob) {
  fdt::Index index(storage.data(), storage.size());
  REQUIRE(index.build(blob, fdt_totalsize(blob)) == 0);
  REQUIRE_FALSE(index.overflowed());
  if (index.count() == 0) {  // a structure block with no node at all passes fdt_check_full() too
    CHECK(fdt_next_node(blob, -1, nullptr) < 0);
    CHECK(index.find_path("/", 1) == -1);
    return;
  }
  bool plain_names = true;
  for (int node = 0; node < index.count(); ++node) {
    plain_names &= rt::find_byte(index.node(node).name, '/', index.node(node).name_length) == nullptr;
  }
  int expected = 0;
  for (int node = 0; node < index.count(); ++node, expected = fdt_next_node(blob, expected, nullptr)) {
    CAPTURE(node);
    REQUIRE(index.node(node).offset == expected);
    CHECK(index.index_of(expected) == node);
    int name_length = 0;
    const char* name = fdt_get_name(blob, expected, &name_length);
    CHECK(text(index.node(node).name, index.node(node).name_length) == text(name, static_cast<size_t>(name_length)));
    const int parent = fdt_parent_offset(blob, expected);
    CHECK((index.parent(node) < 0 ? -FDT_ERR_NOTFOUND : index.node(index.parent(node)).offset) == parent);
    char path[512];
    char libfdt_path[512];
    REQUIRE(index.path(node, path, sizeof(path)));
    CHECK(index.node(node).path_length == std::string(path).size());
    CHECK_FALSE(index.path(node, path, index.node(node).path_length));  // one byte short for the NUL
    if (plain_names) {
      REQUIRE(fdt_get_path(blob, expected, libfdt_path, sizeof(libfdt_path)) == 0);
      CHECK(std::string(path) == libfdt_path);
      // The first node with that path (a corrupted tree may have two).
      const int by_path = fdt_path_offset(blob, libfdt_path);
      CHECK(index.find_path(libfdt_path, std::string(libfdt_path).size()) == index.index_of(by_path));
    }
    CHECK(index.node(node).phandle == fdt_get_phandle(blob, expected));
    if (index.node(node).phandle != 0) {
      CHECK(index.node(index.find_phandle(index.node(node).phandle)).offset ==
            fdt_node_offset_by_phandle(blob, index.node(node).phandle));
    }
    const int child = fdt_first_subnode(blob, expected);
    CHECK((index.first_child(node) < 0 ? -FDT_ERR_NOTFOUND : index.node(index.first_child(node)).offset) == child);
    if (child >= 0) {
      const int sibling = fdt_next_subnode(blob, child);
      const int indexed = index.next_sibling(index.first_child(node));
      CHECK((indexed < 0 ? -FDT_ERR_NOTFOUND : index.node(indexed).offset) == sibling);
    }
    // Properties, in order, and each looked up by name.
    int32_t at = index.first_property(node);
    int offset = 0;
    fdt_for_each_property_offset(offset, blob, expected) {
      REQUIRE(at == offset);
      const char* property_name = nullptr;
      int length = 0;
      const void* value = fdt_getprop_by_offset(blob, offset, &property_name, &length);
      const fdt::IndexedProperty found = index.property_at(at);
      CHECK(std::string(found.name) == property_name);
      CHECK(found.value == value);
      CHECK(found.length == static_cast<size_t>(length));
      const fdt::IndexedProperty by_name = index.property(node, property_name);
      CHECK(by_name.value == fdt_getprop(blob, expected, property_name, &length));
      at = index.next_property(at);
    }
    CHECK(at == -1);
    CHECK(index.property(node, "no-such-property").value == nullptr);
    for (const char* type : {"memory", "cpu", "pci", ""}) {
      int length = 0;
      const void* value = fdt_getprop(blob, expected, "device_type", &length);
      const bool expected_type = value != nullptr && static_cast<size_t>(length) == std::strlen(type) + 1 &&
                                 std::memcmp(value, type, static_cast<size_t>(length)) == 0;
      CHECK(index.has_device_type(node, type) == expected_type);
    }
    // compatible: each string of its list, a prefix of one and a name nobody has.
    int list_length = 0;
    const char* list = static_cast<const char*>(fdt_getprop(blob, expected, "compatible", &list_length));
    std::vector<std::string> names = {"arm,no-such-device", "arm", ""};
    for (int i = 0; list != nullptr && i < list_length; i += static_cast<int>(std::string(list + i).size()) + 1) {
      names.emplace_back(list + i);
    }
    for (const std::string& compatible : names) {
      CAPTURE(compatible);
      CHECK(index.compatible(node, compatible.c_str()) == (fdt_node_check_compatible(blob, expected, compatible.c_str()) == 0));
      const int next = index.next_compatible(node, compatible.c_str());
      CHECK((next < 0 ? -FDT_ERR_NOTFOUND : index.node(next).offset) ==
            fdt_node_offset_by_compatible(blob, expected, compatible.c_str()));
    }
  }
  CHECK_MESSAGE(expected < 0, "libfdt has a node after the index's last");
  CHECK(index.find_phandle(0) == -1);
  CHECK(index.find_phandle(0xffffffff) == -1);
  const int first = index.next_compatible(-1, "arm,gic-v3");
  CHECK((first < 0 ? -FDT_ERR_NOTFOUND : index.node(first).offset) == fdt_node_offset_by_compatible(blob, -1, "arm,gic-v3"));
}

void check_paths(const void* blob, const std::vector<std::string>& paths) {
  fdt::Index index(storage.data(), storage.size());
  REQUIRE(index.build(blob, fdt_totalsize(blob)) == 0);
  for (const std::string& path : paths) {
    CAPTURE(path);
    const int found = index.find_path(path.data(), path.size());
    CHECK((found < 0 ? -1 : index.node(found).offset) ==
          std::max(-1, fdt_path_offset_namelen(blob, path.data(), static_cast<int>(path.size()))));
  }
}

}  // namespace

TEST_CASE("fdt index: every lookup answers as libfdt does") {
  for (const char* name : {"virt-smmu-smp4-m2048", "virt-plain-smp1-m1024", "virt-smmu-smp4-m3072-nvme",
                           "firmware-base", "firmware-cells-default"}) {
    CAPTURE(name);
    compare_with_libfdt(Dtb::load(name).data());
  }
}

TEST_CASE("fdt index: paths, unit addresses and aliases as fdt_path_offset()") {
  Dtb dt = Dtb::load("virt-smmu-smp4-m2048").editable();
  dt.add_node("/", "aliases");
  dt.set_string("/aliases", "serial0", "/pl011@9000000");
  dt.set_string("/aliases", "cpus", "/cpus");
  dt.set_string("/aliases", "relative", "pl011@9000000");
  dt.set_string("/aliases", "unterminated", "/cpus", false);
  check_paths(dt.data(), {"/", "//", "/cpus", "/cpus/", "//cpus//cpu@0", "/cpus/cpu", "/cpus/cpu@0", "/cpus/cpu@7",
                          "/pl011", "/pl011@9000000", "/pl011@90", "/pcie@10000000", "/pcie", "/intc/its",
                          "/intc@8000000/its@8080000", "serial0", "serial0/", "cpus/cpu@1", "cpus/cpu@9", "nothing",
                          "/nothing", "/cpus/cpu@0/x"});
  // A relative alias: libfdt 1.6 would look it up as an alias again; the index refuses it.
  fdt::Index index(storage.data(), storage.size());
  REQUIRE(index.build(dt.data(), fdt_totalsize(dt.data())) == 0);
  CHECK(index.find_path("relative", 8) == -1);
  CHECK(index.find_path("unterminated", 12) == -1);
  CHECK(index.find_path("", 0) == -1);
}

TEST_CASE("fdt index: the same verdict as fdt_check_full() on broken blobs") {
  const Dtb sources[] = {Dtb::load("virt-smmu-smp4-m2048"), Dtb::load("firmware-base")};
  uint64_t state = 0x2545f4914f6cdd1d;
  auto next = [&state](uint64_t bound) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (state >> 33) % bound;
  };
  size_t sound = 0;
  size_t broken = 0;
  for (const Dtb& source : sources) {
    const uint32_t blocks = fdt_off_dt_struct(source.data());
    const uint32_t blocks_size = fdt_size_dt_struct(source.data()) + fdt_size_dt_strings(source.data());
    for (int round = 0; round < 2000; ++round) {
      Dtb bad = source;
      const uint64_t flips = 1 + next(4);
      for (uint64_t i = 0; i < flips; ++i) {
        // Mostly tags and lengths: the words of the structure block, some bytes anywhere.
        const uint64_t at = next(8) == 0 ? next(bad.size()) : blocks + next(blocks_size);
        bad.bytes()[at] ^= static_cast<unsigned char>(1u << next(8));
      }
      const size_t size = next(8) == 0 ? next(bad.size() + 1) : bad.size();
      fdt::Index index(storage.data(), storage.size());
      const int expected = fdt_check_full(bad.data(), size);
      CAPTURE(round);
      REQUIRE(index.build(bad.data(), size) == expected);
      if (expected == 0) {
        ++sound;
        compare_with_libfdt(bad.data());
      } else {
        ++broken;
      }
    }
  }
  CHECK(sound > 50);
  CHECK(broken > 500);
}

TEST_CASE("fdt index: every property name offset is checked, the largest too") {
  // The root's first property: FDT_BEGIN_NODE, empty name padded to 4, then FDT_PROP.
  for (uint32_t name_offset : {0xffffffffu, 0x80000000u, 0x7fffffffu}) {
    CAPTURE(name_offset);
    Dtb bad = Dtb::load("virt-smmu-smp4-m2048");
    bad.store32(fdt_off_dt_struct(bad.data()) + 16, name_offset);
    fdt::Index index(storage.data(), storage.size());
    CHECK(index.build(bad.data(), bad.size()) == fdt_check_full(bad.data(), bad.size()));
    CHECK(index.build(bad.data(), bad.size()) != 0);
  }
}

TEST_CASE("fdt index: a tree older than version 16 whose root name has no '/' is broken") {
  // Before version 16 names are full paths; fdt_get_name() fails on a root name without
  // a '/', and libfdt 1.6.1's fdt_check_full() then dereferences its null name (found by
  // fuzz_firmware_dt), so libfdt cannot be the oracle here.
  Dtb old = Dtb::load("firmware-base");
  old.store32(20, 15);  // the header's version: the root keeps its empty name
  old.store32(24, 2);   // last_comp_version, at most the version
  REQUIRE(fdt_check_header(old.data()) == 0);
  fdt::Index index(storage.data(), storage.size());
  CHECK(index.build(old.data(), old.size()) == -FDT_ERR_BADSTRUCTURE);
}

TEST_CASE("fdt index: a tree larger than the storage is checked to its end and counted") {
  const Dtb dt = Dtb::load("virt-smmu-smp4-m2048");
  const int nodes = [&] {
    int count = 0;
    for (int node = 0; node >= 0; node = fdt_next_node(dt.data(), node, nullptr)) ++count;
    return count;
  }();
  fdt::Index small(storage.data(), 10);
  REQUIRE(small.build(dt.data(), dt.size()) == 0);
  CHECK(small.overflowed());
  CHECK(small.node_count() == static_cast<size_t>(nodes));
  fdt::Index exact(storage.data(), static_cast<size_t>(nodes));
  REQUIRE(exact.build(dt.data(), dt.size()) == 0);
  CHECK_FALSE(exact.overflowed());
}
