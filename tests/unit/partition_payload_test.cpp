// Payload facts from file heads, and where payloads go in a partition's RAM.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>

#include "partitions/guest_layout.hpp"
#include "partitions/payload.hpp"

namespace bp = bulkhead::partitions;

namespace {

void put_le(unsigned char* at, uint64_t value, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) at[i] = static_cast<unsigned char>(value >> (8 * i));
}

}  // namespace

TEST_CASE("partition payload: the arm64 Image header is recognised") {
  unsigned char head[64] = {};
  put_le(head + 8, 0x80000, 8);
  put_le(head + 16, 0x2345000, 8);
  std::memcpy(head + 0x38, "ARM\x64", 4);
  const bp::PayloadInfo image = bp::inspect_payload(head, sizeof(head), 0x1000000);
  CHECK(image.found);
  CHECK(image.size == 0x1000000);
  CHECK(image.linux_header);
  CHECK(image.text_offset == 0x80000);
  CHECK(image.image_size == 0x2345000);

  head[0x3b] = 0x65;  // magic broken
  CHECK_FALSE(bp::inspect_payload(head, sizeof(head), 0x1000000).linux_header);
  std::memcpy(head + 0x38, "ARM\x64", 4);
  CHECK_FALSE(bp::inspect_payload(head, 63, 0x1000000).linux_header);     // head too short
  CHECK_FALSE(bp::inspect_payload(head, sizeof(head), 40).linux_header);  // file too short
  CHECK_FALSE(bp::inspect_payload(nullptr, 0, 0).linux_header);
}

TEST_CASE("partition payload: placement in partition RAM") {
  constexpr uint64_t base = 0x40000000;
  constexpr uint64_t mib = bp::mib;
  const bp::PayloadPlacement placed = bp::place_payloads(base, 64 * mib, 0x200000, 0x1400000, 0x1801);
  CHECK(placed.fits);
  CHECK(placed.kernel_base == base + 0x200000);
  CHECK(placed.kernel_end == base + 0x1600000);
  CHECK(placed.dtb_base == base + 62 * mib);
  CHECK(placed.initrd_end == placed.dtb_base);
  CHECK(placed.initrd_base == placed.dtb_base - 0x2000);  // 4 KiB aligned down
  // The kernel may end exactly where the initrd starts.
  CHECK(bp::place_payloads(base, 4 * mib, 0, 2 * mib - 0x2000, 0x2000).fits);
  CHECK_FALSE(bp::place_payloads(base, 4 * mib, 0, 2 * mib - 0x2000 + 1, 0x2000).fits);
  CHECK_FALSE(bp::place_payloads(base, 4 * mib, 2 * mib, 1, 0).fits);
  CHECK(bp::place_payloads(base, 4 * mib, 2 * mib - 4, 4, 0).fits);
  CHECK_FALSE(bp::place_payloads(base, 1 * mib, 0, 0, 0).fits);        // no room for the device tree
  CHECK_FALSE(bp::place_payloads(base, 4 * mib, 0, 0, 3 * mib).fits);  // initrd too large
  CHECK_FALSE(bp::place_payloads(UINT64_MAX - mib, 4 * mib, 0, 0, 0).fits);
}
