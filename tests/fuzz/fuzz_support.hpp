// Shared by the fuzz targets: the board, deterministic payload facts, and aborting on a
// broken invariant (libFuzzer reports it as a crash with the input).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "partitions/board.hpp"
#include "partitions/rules.hpp"
#include "partitions/violations.hpp"

namespace fuzz {

namespace bp = bulkhead::partitions;

const bp::BoardDefinition& board();

// Payload facts derived from the file name only, so every input is reproducible:
// names starting "missing" are absent, names containing "Image" have an arm64 header.
class NamedPayloads final : public bp::PayloadLookup {
 public:
  bp::PayloadInfo inspect(const char* file_name) override;
};

// The input in a heap block of exactly its size (malloc: 16-byte aligned), so ASan
// catches any read past the end.
struct Copy {
  std::unique_ptr<uint8_t, decltype(&std::free)> bytes{nullptr, &std::free};
  size_t size = 0;
};
Copy exact_copy(const uint8_t* data, size_t size);

// Reads an input front to back: bytes, and little-endian words. Check more(n) before
// taking n bytes.
struct Reader {
  const uint8_t* data;
  size_t size;
  size_t at = 0;
  bool more(size_t n) const { return size - at >= n; }
  uint8_t u8() { return data[at++]; }
  uint32_t u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(u8()) << (8 * i);
    return v;
  }
};

[[noreturn]] void invariant_failed(const char* what);

}  // namespace fuzz
