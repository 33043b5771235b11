// libFuzzer target: the description reader, the rules and the normalizer on arbitrary
// bytes (seeded with compiled descriptions). Besides memory safety and UB it checks the
// invariants the boot relies on: whatever passes the checks normalizes, reads back as a
// normalized description without a single violation, passes the boot's consistency
// rules, and normalizes again to the very same bytes. The input is also read as a
// normalized description and as a board definition, to cover those readers.
#include <cstring>
#include <memory>
#include <vector>

#include "fuzz_support.hpp"
#include "partitions/description.hpp"
#include "partitions/normalize.hpp"
#include "partitions/package.hpp"
#include "partitions/summary.hpp"

namespace {

namespace bp = bulkhead::partitions;

class NullSink final : public bulkhead::Sink {
 public:
  void write(const char*, size_t) override {}
};

void check_normalization(bp::SystemDescription& description) {
  static std::vector<uint64_t> first(1 << 15);
  static std::vector<uint64_t> second(1 << 15);
  static bp::SystemDescription read_back;
  bp::assign_package_entries(description);
  size_t size = 0;
  if (!bp::write_normalized_description(description, first.data(), first.size() * 8, size)) {
    fuzz::invariant_failed("a checked description does not normalize");
  }
  const fuzz::Copy normalized = fuzz::exact_copy(reinterpret_cast<const uint8_t*>(first.data()), size);
  bp::CountingViolations violations;
  if (!bp::read_normalized_description(normalized.bytes.get(), normalized.size, read_back, violations)) {
    fuzz::invariant_failed("the normalized description does not read back");
  }
  // The package would carry the same sizes as the checked description.
  for (size_t i = 0; i < read_back.partition_count; ++i) {
    read_back.partitions[i].payload.file_size = description.partitions[i].payload.file_size;
    read_back.partitions[i].payload.initrd_size = description.partitions[i].payload.initrd_size;
  }
  if (!bp::check_consistency(read_back, violations)) fuzz::invariant_failed("the boot's rules reject it");
  size_t again = 0;
  if (!bp::write_normalized_description(read_back, second.data(), second.size() * 8, again) || again != size ||
      std::memcmp(first.data(), second.data(), size) != 0) {
    fuzz::invariant_failed("normalizing twice differs");
  }
  NullSink sink;
  bp::write_summary(sink, description, &fuzz::board());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bp::SystemDescription description;
  static bp::BoardDefinition other_board;
  const fuzz::Copy input = fuzz::exact_copy(data, size);
  fuzz::NamedPayloads payloads;
  bp::CountingViolations violations;
  if (bp::check_source(input.bytes.get(), input.size, fuzz::board(), payloads, description, violations)) {
    check_normalization(description);
  }
  bp::CountingViolations normalized_violations;
  bp::read_description(input.bytes.get(), input.size, bp::DescriptionForm::normalized, description,
                       normalized_violations);
  bp::check_consistency(description, normalized_violations);
  bp::CountingViolations board_violations;
  bp::read_board(input.bytes.get(), input.size, other_board, board_violations);
  return 0;
}
