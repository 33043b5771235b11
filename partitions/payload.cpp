#include "partitions/payload.hpp"

namespace bulkhead::partitions {
namespace {

uint64_t load_le(const uint8_t* bytes, size_t count) {
  uint64_t value = 0;
  for (size_t i = count; i > 0; --i) value = value << 8 | bytes[i - 1];
  return value;
}

}  // namespace

PayloadInfo inspect_payload(const void* head, size_t head_size, uint64_t file_size) {
  PayloadInfo info;
  info.found = true;
  info.size = file_size;
  const auto* bytes = static_cast<const uint8_t*>(head);
  if (head == nullptr || head_size < linux_header_size || file_size < linux_header_size) return info;
  if (load_le(bytes + linux_magic_offset, 4) != linux_magic) return info;
  info.linux_header = true;
  info.text_offset = load_le(bytes + 8, 8);
  info.image_size = load_le(bytes + 16, 8);
  return info;
}

}  // namespace bulkhead::partitions
