// Test support for the firmware DT reader tests: DTBs from the qemu_dtbs fixture in
// exact-size storage (so ASan sees overruns), libfdt edits, and parsing helpers.
#pragma once

#include <doctest/doctest.h>
#include <libfdt.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/platform/firmware_dt.hpp"

namespace bulkhead::firmware_dt_test {


inline std::string hex_text(uint64_t value) {
  std::ostringstream out;
  out << "0x" << std::hex << value;
  return out.str();
}

// A DTB in 8-byte aligned storage of exactly the blob's size (rounded to 8), so ASan
// sees any read past it.
class Dtb {
 public:
  static Dtb load(const std::string& name) {
    const std::string path = std::string(BULKHEAD_TEST_WORK_DIR) + "/" + name + ".dtb";
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in.good(), "missing " << path << ": the `dtb:` fixture tests make it");
    const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    Dtb dtb(bytes.size());
    std::memcpy(dtb.data(), bytes.data(), bytes.size());
    return dtb;
  }

  // A copy with room to add and grow properties.
  Dtb editable(size_t room = 16384) const {
    Dtb copy(size_ + room);
    REQUIRE(fdt_open_into(data(), copy.data(), static_cast<int>(copy.size())) == 0);
    return copy;
  }

  explicit Dtb(size_t size) : words_((size + 7) / 8), size_(size) {}
  void* data() { return words_.data(); }
  const void* data() const { return words_.data(); }
  unsigned char* bytes() { return reinterpret_cast<unsigned char*>(words_.data()); }
  size_t size() const { return size_; }

  int node(const std::string& path) const {
    const int offset = fdt_path_offset(data(), path.c_str());
    REQUIRE_MESSAGE(offset >= 0, "no node " << path);
    return offset;
  }
  uint32_t phandle(const std::string& path) const { return fdt_get_phandle(data(), node(path)); }
  void set(const std::string& path, const char* name, const std::vector<uint32_t>& cells) {
    std::vector<fdt32_t> big_endian;
    for (uint32_t cell : cells) big_endian.push_back(cpu_to_fdt32(cell));
    REQUIRE(fdt_setprop(data(), node(path), name, big_endian.data(), static_cast<int>(cells.size() * 4)) == 0);
  }
  void set_string(const std::string& path, const char* name, const std::string& value, bool terminated = true) {
    const int length = static_cast<int>(value.size() + (terminated ? 1 : 0));
    REQUIRE(fdt_setprop(data(), node(path), name, value.c_str(), length) == 0);
  }
  void remove(const std::string& path, const char* name) { REQUIRE(fdt_delprop(data(), node(path), name) == 0); }
  void remove_node(const std::string& path) { REQUIRE(fdt_del_node(data(), node(path)) == 0); }
  // libfdt inserts a new node as its parent's first child.
  void add_node(const std::string& parent, const std::string& name) {
    REQUIRE(fdt_add_subnode(data(), node(parent), name.c_str()) >= 0);
  }
  void store32(size_t offset, uint32_t value) {
    const fdt32_t big_endian = cpu_to_fdt32(value);
    std::memcpy(bytes() + offset, &big_endian, 4);
  }

 private:
  std::vector<uint64_t> words_;
  size_t size_;
};

struct Result {
  bool ok = false;
  std::string error;
  std::unique_ptr<PlatformInfo> platform = std::make_unique<PlatformInfo>();
};

inline Result parse(const void* blob, size_t max_size) {
  Result result;
  FirmwareDtError error;
  result.ok = read_firmware_dt(blob, max_size, *result.platform, error);
  result.error = error.message;
  if (result.ok) CHECK(result.error.empty());
  return result;
}

inline Result parse(const Dtb& dtb) { return parse(dtb.data(), dtb.size()); }

inline std::string error_of(const Dtb& dtb) {
  const Result result = parse(dtb);
  return result.ok ? "<accepted>" : result.error;
}

inline std::string error_of(const std::string& name) { return error_of(Dtb::load(name)); }

}  // namespace bulkhead::firmware_dt_test
