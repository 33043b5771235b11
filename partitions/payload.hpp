// What the rules need to know about a payload file, without the portable code reading
// files: the tool fills a PayloadInfo from the file's size and first bytes.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bulkhead::partitions {

// The arm64 Linux `Image` header (Documentation/arch/arm64/booting.rst): 64 bytes,
// little-endian; text_offset at 8, image_size at 16, magic "ARM\x64" at 56.
constexpr size_t linux_header_size = 64;
constexpr size_t linux_magic_offset = 0x38;
constexpr uint32_t linux_magic = 0x644d5241;

struct PayloadInfo {
  bool found = false;         // the file exists and could be read
  uint64_t size = 0;          // file size in bytes
  bool linux_header = false;  // the arm64 Image magic is at 0x38
  uint64_t text_offset = 0;   // from the header, when linux_header
  uint64_t image_size = 0;    // effective size including BSS, when linux_header (0: pre-3.17 kernel)
};

// The payload files of one partition, in description order.
struct PartitionPayloads {
  PayloadInfo kernel;
  PayloadInfo initrd;
};

// `head` holds the first `head_size` bytes of a file of `file_size` bytes.
PayloadInfo inspect_payload(const void* head, size_t head_size, uint64_t file_size);

}  // namespace bulkhead::partitions
