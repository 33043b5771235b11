// The `msi-spis` rule and the default range: the SPIs a partition's PCI functions' MSIs
// arrive as (GICv3 message-based SPIs, the guest's `mbi-ranges`). A range is whole and
// aligned, inside the SPIs, clear of the guest's virtual UART interrupt, of every
// platform device's SPI and of every other partition's range, so an SPI number means one
// thing on the whole machine. Used by rules.cpp, in both passes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "partitions/board.hpp"
#include "partitions/description.hpp"
#include "partitions/violations.hpp"

namespace bulkhead::partitions {

// Checks partition `index`'s range, if it has one (given or assigned), against itself,
// the platform devices of every partition and the assigned ranges of the partitions
// before it. True when it has a valid range.
bool check_msi_spis(const SystemDescription& description, size_t index, Violations& violations);

// The lowest aligned range of `count` SPIs clear of the virtual UART's SPI, the SPIs of
// every platform device of `board` (when given) and of every partition, and every
// assigned range. False when there is none.
bool choose_msi_spis(const SystemDescription& description, const BoardDefinition* board, uint32_t count,
                     uint32_t& first);

}  // namespace bulkhead::partitions
