// libFuzzer target: open_package, verify_entry and read_package_description on
// arbitrary bytes (seeded with packages of the example configurations). When the first
// byte is odd, the header and entry CRCs are recomputed before opening, so mutations
// reach the entry checks and the description reader instead of dying at the CRC.
#include <cstring>

#include "core/lib/crc32.hpp"
#include "fuzz_support.hpp"
#include "partitions/package.hpp"
#include "partitions/summary.hpp"

namespace {

namespace bp = bulkhead::partitions;

uint32_t load32(const uint8_t* at) {
  uint32_t value = 0;
  std::memcpy(&value, at, 4);
  return value;
}
uint64_t load64(const uint8_t* at) {
  uint64_t value = 0;
  std::memcpy(&value, at, 8);
  return value;
}

// Fixes every CRC that can be fixed (little-endian host, as the format).
void reseal(uint8_t* bytes, size_t size) {
  if (size < bp::package_header_size) return;
  const uint32_t count = load32(bytes + 12);
  if (count > bp::max_package_entries || bp::package_header_size + count * bp::package_entry_size > size) return;
  for (uint32_t i = 0; i < count; ++i) {
    uint8_t* entry = bytes + bp::package_header_size + i * bp::package_entry_size;
    const uint64_t offset = load64(entry + 8);
    const uint64_t length = load64(entry + 16);
    if (offset > size || length > size - offset) continue;
    const uint32_t crc = bulkhead::crc32(bytes + offset, length);
    std::memcpy(entry + 24, &crc, 4);
  }
  std::memset(bytes + 20, 0, 4);
  const uint32_t crc = bulkhead::crc32(bytes, bp::package_header_size + count * bp::package_entry_size);
  std::memcpy(bytes + 20, &crc, 4);
}

class NullSink final : public bulkhead::Sink {
 public:
  void write(const char*, size_t) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bp::SystemDescription description;
  if (size == 0) return 0;
  const fuzz::Copy input = fuzz::exact_copy(data + 1, size - 1);
  if ((data[0] & 1) != 0) reseal(input.bytes.get(), input.size);
  bp::Package package;
  bp::PackageError error;
  if (!bp::open_package(input.bytes.get(), input.size, package, error)) return 0;
  for (size_t i = 0; i < package.entry_count; ++i) bp::verify_entry(package, i, error);
  bp::CountingViolations violations;
  if (bp::read_package_description(package, description, violations)) {
    NullSink sink;
    bp::write_summary(sink, description, nullptr);
  }
  return 0;
}
