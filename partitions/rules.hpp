// The build-time rules: everything about a description that can be decided without the
// hardware. Each violation is reported with the node it concerns and its rule name (see
// rule_names.hpp and partitions/README.md); all of them, in a fixed order: board-match,
// then partition by partition (CPUs, RAM, payload, PCI, platform devices), then RAM
// allocation, then the MSI SPI ranges (msi_spis.hpp). While checking, the rules resolve
// what the normalized form records: CPU indices and MPIDRs, RAM host bases (first fit),
// payload load offsets and sizes, platform devices' registers and interrupts, automatic
// guest slots, default MSI SPI ranges.
#pragma once

#include <cstddef>
#include <cstdint>

#include "partitions/board.hpp"
#include "partitions/description.hpp"
#include "partitions/payload.hpp"
#include "partitions/violations.hpp"

namespace bulkhead::partitions {

// Where the build-time check gets payload facts from (the tool reads files).
class PayloadLookup {
 public:
  // `file_name` as written in the description (relative to the payload directory).
  virtual PayloadInfo inspect(const char* file_name) = 0;

 protected:
  ~PayloadLookup() = default;
};

// The whole build-time check of a source description: read_description(source), the
// payload facts of every partition, then check_description. True when nothing was reported.
bool check_source(const void* blob, size_t size, const BoardDefinition& board, PayloadLookup& files,
                  SystemDescription& description, Violations& violations);

// `package-size`: the package must fit in the board's package-max-size (0: cannot be built).
bool check_package_size(uint64_t package_bytes, const BoardDefinition& board, Violations& violations);

// `payloads` has one entry per partition (description.partition_count). Returns true
// when nothing was reported. The description must come from read_description(source).
bool check_description(SystemDescription& description, const BoardDefinition& board, const PartitionPayloads* payloads,
                       Violations& violations);

// The rules that need neither board nor payload files, on a normalized description
// whose payload sizes are filled in (read_package_description does it): the boot's
// defence against a package that was not made by the tool.
bool check_consistency(const SystemDescription& description, Violations& violations);

// Free board RAM for allocation: board RAM minus the hypervisor's reserved regions
// minus the placed partitions, as ascending disjoint blocks.
constexpr size_t max_free_blocks = 32;
struct FreeRam {
  AddressRange blocks[max_free_blocks];
  size_t count = 0;
  // Largest 2 MiB-aligned size available in one block.
  uint64_t largest_aligned() const;
};
FreeRam free_ram(const BoardDefinition& board, const SystemDescription& description);
// First fit, 2 MiB-aligned base, lowest address first; removes what it returns.
bool allocate_ram(FreeRam& free, uint64_t size, uint64_t& base);

}  // namespace bulkhead::partitions
