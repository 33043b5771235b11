// The board definition (boards/<board>/board.dts, compiled by dtc at build time): what
// the build-time rules check descriptions against. CPUs, RAM, the hypervisor's own
// memory and the platform devices a partition may be given. The real machine is
// checked again at boot (CPU count, RAM ranges), since a board file can only promise.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/platform/platform.hpp"
#include "partitions/description.hpp"
#include "partitions/violations.hpp"

namespace bulkhead::partitions {

constexpr const char* board_compatible = "bulkhead,board-definition";
constexpr size_t max_board_devices = 8;

struct BoardDevice : DeviceResources {
  char name[max_device_name + 1] = {};
};

struct BoardDefinition {
  char name[max_board_name + 1] = {};
  uint32_t cpu_mpidrs[max_cpus] = {};  // index = firmware /cpus DT order
  size_t cpu_count = 0;
  AddressRange ram[max_ram_ranges];
  size_t ram_count = 0;
  AddressRange reserved[max_reserved_regions];  // what partitions never get
  size_t reserved_count = 0;
  uint64_t package_max_size = 0;  // bytes the image can carry for the package
  BoardDevice devices[max_board_devices];
  size_t device_count = 0;

  const BoardDevice* find_device(const char* device_name) const;
};

// Reads and checks a compiled board definition; every problem goes to `violations`.
bool read_board(const void* blob, size_t size, BoardDefinition& board, Violations& violations);

}  // namespace bulkhead::partitions
