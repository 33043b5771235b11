// fdt::Writer: libfdt reads back what it wrote, whatever the buffer held before, and a
// buffer too small is refused with FDT_ERR_NOSPACE at every size.
#include "core/lib/fdt_writer.hpp"

#include <doctest/doctest.h>
#include <libfdt.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

using bulkhead::fdt::Writer;

namespace {

// A small tree with a name used twice, an empty property, odd lengths and nesting.
int write_tree(Writer& writer) {
  const uint8_t odd[5] = {1, 2, 3, 4, 5};
  const fdt32_t cell = cpu_to_fdt32(0x8001);
  writer.begin_node("");
  writer.property("compatible", "linux,dummy-virt", 17);
  writer.property("#address-cells", &cell, 4);
  writer.begin_node("chosen");
  writer.property("bootargs", "console=ttyAMA0", 16);
  writer.property("odd", odd, sizeof(odd));
  writer.end_node();
  writer.begin_node("intc@8000000");
  writer.property("interrupt-controller", "", 0);
  writer.property("phandle", &cell, 4);
  writer.begin_node("its@8080000");
  writer.property("compatible", "arm,gic-v3-its", 15);
  writer.end_node();
  writer.end_node();
  writer.end_node();
  return writer.finish();
}

std::string text(const void* fdt, const char* path, const char* property) {
  int length = 0;
  const void* value = fdt_getprop(fdt, fdt_path_offset(fdt, path), property, &length);
  return value == nullptr ? "<none>" : std::string(static_cast<const char*>(value), static_cast<size_t>(length));
}

}  // namespace

TEST_CASE("fdt writer: libfdt reads back the tree, whatever the buffer held") {
  std::vector<uint64_t> first(512, 0);
  std::vector<uint64_t> second(512, 0xa5a5a5a5a5a5a5a5ull);
  Writer clean(first.data(), first.size() * 8);
  Writer dirty(second.data(), second.size() * 8);
  REQUIRE(write_tree(clean) == 0);
  REQUIRE(write_tree(dirty) == 0);
  REQUIRE(clean.size() == dirty.size());
  CHECK(std::memcmp(first.data(), second.data(), clean.size()) == 0);  // every byte of the tree written
  const void* fdt = second.data();
  REQUIRE(fdt_check_full(fdt, dirty.size()) == 0);
  CHECK(fdt_totalsize(fdt) == dirty.size());
  CHECK(fdt_version(fdt) == 17);
  CHECK(fdt_num_mem_rsv(fdt) == 0);
  CHECK(text(fdt, "/", "compatible") == std::string("linux,dummy-virt", 17));
  CHECK(fdt32_ld(static_cast<const fdt32_t*>(fdt_getprop(fdt, 0, "#address-cells", nullptr))) == 0x8001);
  CHECK(text(fdt, "/chosen", "bootargs") == std::string("console=ttyAMA0", 16));
  CHECK(text(fdt, "/chosen", "odd") == std::string("\1\2\3\4\5", 5));
  CHECK(text(fdt, "/intc@8000000", "interrupt-controller").empty());
  CHECK(fdt_get_phandle(fdt, fdt_path_offset(fdt, "/intc@8000000")) == 0x8001);
  CHECK(text(fdt, "/intc@8000000/its@8080000", "compatible") == std::string("arm,gic-v3-its", 15));
  CHECK(fdt_path_offset(fdt, "/intc/its") == fdt_path_offset(fdt, "/intc@8000000/its@8080000"));
}

TEST_CASE("fdt writer: a buffer too small is refused at every size, and stays refused") {
  std::vector<uint64_t> room(512);
  Writer full(room.data(), room.size() * 8);
  REQUIRE(write_tree(full) == 0);
  for (size_t capacity = 0; capacity < full.size(); ++capacity) {
    CAPTURE(capacity);
    std::vector<uint64_t> buffer(capacity / 8 + 1, 0x5a5a5a5a5a5a5a5aull);
    Writer writer(buffer.data(), capacity);
    CHECK(write_tree(writer) == -FDT_ERR_NOSPACE);
    CHECK(writer.status() == -FDT_ERR_NOSPACE);
    CHECK(writer.property("more", "", 0) == -FDT_ERR_NOSPACE);
    // Nothing written past the capacity.
    CHECK(reinterpret_cast<const uint8_t*>(buffer.data())[capacity] == 0x5a);
  }
  std::vector<uint64_t> exact(full.size() / 8 + 1);
  Writer writer(exact.data(), full.size());
  CHECK(write_tree(writer) == 0);
}

TEST_CASE("fdt writer: unbalanced nodes are a broken structure") {
  std::vector<uint64_t> buffer(64);
  Writer unclosed(buffer.data(), buffer.size() * 8);
  unclosed.begin_node("");
  CHECK(unclosed.finish() == -FDT_ERR_BADSTRUCTURE);
  Writer extra(buffer.data(), buffer.size() * 8);
  CHECK(extra.end_node() == -FDT_ERR_BADSTRUCTURE);
}
