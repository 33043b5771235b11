// The human summary of a checked description (`bulkhead-config --summary`): the board,
// then one table per partition, then the board RAM nobody got.
#pragma once

#include "core/lib/format.hpp"
#include "partitions/board.hpp"
#include "partitions/description.hpp"

namespace bulkhead::partitions {

// `description` is checked and resolved (check_description). `board` may be nullptr
// (e.g. from a package at boot): the board and free-RAM lines are then left out.
void write_summary(Sink& out, const SystemDescription& description, const BoardDefinition* board);

}  // namespace bulkhead::partitions
