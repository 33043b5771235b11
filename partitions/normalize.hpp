// The normalized description: what the tool writes into the package for the hypervisor.
// It is a description DTB in the same schema, with every default written out, the RAM
// host base placed, CPUs as both indices and MPIDRs, payload files as package entry
// indices (with the load offset and size the boot needs), platform devices with the
// registers and interrupts taken from the board, guest slots assigned, the hypervisor's
// reserved RAM, and `bulkhead,checked-by`. read_description(normalized) reads it back.
#pragma once

#include <cstddef>

#include "partitions/description.hpp"

namespace bulkhead::partitions {

// Writes `description` (checked and resolved by check_description, entries assigned by
// assign_package_entries) as a compact DTB. Returns false if `capacity` is too small or
// the description is not resolved; `size` is the DTB's totalsize.
bool write_normalized_description(const SystemDescription& description, void* buffer, size_t capacity, size_t& size);

}  // namespace bulkhead::partitions
