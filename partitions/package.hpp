// The package: the checked description and every payload in one blob, with CRC-32s,
// that the image carries and the hypervisor verifies at boot.
//
// Layout (all integers little-endian):
//   header, 24 bytes:  magic "BHPKG\0\0\1" | u32 version (1) | u32 entry_count |
//                      u32 total_size | u32 header_crc32
//   entry table, entry_count x 32 bytes:
//                      u32 kind | u32 partition_index | u64 offset | u64 size |
//                      u32 crc32 | u32 reserved (0)
//   entry data, each at a 4 KiB-aligned offset from the package start, zero padding between.
// header_crc32 covers the header and the entry table with that field taken as zero.
// Entry 0 is the normalized description (kind 1, partition_index 0xffffffff); then for
// each partition in order its kernel or raw binary (kind 2) and its initrd (kind 3) if any.
// The package must be 8-byte aligned in memory (the description is a DTB).
#pragma once

#include <cstddef>
#include <cstdint>

#include "partitions/description.hpp"
#include "partitions/violations.hpp"

namespace bulkhead::partitions {

constexpr uint8_t package_magic[8] = {'B', 'H', 'P', 'K', 'G', 0, 0, 1};
constexpr uint32_t package_version = 1;
constexpr size_t package_header_size = 24;
constexpr size_t package_entry_size = 32;
constexpr uint64_t package_alignment = 0x1000;
constexpr size_t max_package_entries = 1 + 2 * max_partitions;
constexpr uint32_t no_partition = 0xffffffff;

enum class EntryKind : uint32_t { description = 1, kernel = 2, initrd = 3 };
const char* entry_kind_name(EntryKind kind);

struct PackageEntry {
  EntryKind kind = EntryKind::description;
  uint32_t partition_index = no_partition;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint32_t crc32 = 0;
};

struct Package {
  const uint8_t* base = nullptr;
  uint32_t total_size = 0;
  PackageEntry entries[max_package_entries];
  size_t entry_count = 0;
  const uint8_t* entry_data(size_t index) const { return base + entries[index].offset; }
};

struct PackageError {
  char message[200] = {};
};

// Checks magic, version, header CRC, that every entry lies inside the package, is
// 4 KiB aligned, in ascending non-overlapping order, of a known kind and partition, and
// the description entry's CRC (a corrupt description stops the boot). Payload CRCs are
// left to verify_entry, so only the partition whose payload is corrupt is stopped.
bool open_package(const void* data, size_t size, Package& package, PackageError& error);
bool verify_entry(const Package& package, size_t index, PackageError& error);

// Reads the normalized description of an opened package and cross-checks it against the
// entries (package-entry), fills each payload's file and initrd size from them, then runs
// check_consistency. This is what the boot calls.
bool read_package_description(const Package& package, SystemDescription& description, Violations& violations);

// The normalized description DTB alone (no entry cross-check, no consistency rules).
bool read_normalized_description(const void* blob, size_t size, SystemDescription& description, Violations& violations);

// Numbers the entries as the package lays them out (description 0, then per partition
// kernel and initrd) into each payload's kernel_entry/initrd_entry. Returns the count.
size_t assign_package_entries(SystemDescription& description);

// Writing (the tool; portable so tests and fuzzers use the same code).
struct PackageInput {
  EntryKind kind = EntryKind::description;
  uint32_t partition_index = no_partition;
  const void* data = nullptr;
  uint64_t size = 0;
};
// The entries of `description`'s package in order (assign_package_entries done): the
// normalized description, then each payload with its size and a null `data` that the
// writer fills in. `inputs` has room for max_package_entries. Returns the count.
size_t package_inputs(const SystemDescription& description, const void* normalized, size_t normalized_size,
                      PackageInput* inputs);
// Total bytes of a package of these entries; 0 if it would not fit the u32 total_size.
uint64_t package_size(const PackageInput* inputs, size_t count);
// Writes the package into `out` (at least package_size() bytes).
bool write_package(const PackageInput* inputs, size_t count, void* out, size_t capacity, PackageError& error);

}  // namespace bulkhead::partitions
