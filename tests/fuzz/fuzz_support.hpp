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

[[noreturn]] void invariant_failed(const char* what);

}  // namespace fuzz
