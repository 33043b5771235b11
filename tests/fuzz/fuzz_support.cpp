#include "fuzz_support.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

namespace fuzz {

const bp::BoardDefinition& board() {
  static const bp::BoardDefinition* loaded = [] {
    std::ifstream in(BULKHEAD_FUZZ_BOARD_DTB, std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const Copy copy = exact_copy(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    auto* definition = new bp::BoardDefinition;
    bp::CountingViolations violations;
    if (!bp::read_board(copy.bytes.get(), copy.size, *definition, violations)) invariant_failed("board.dtb unreadable");
    return definition;
  }();
  return *loaded;
}

bp::PayloadInfo NamedPayloads::inspect(const char* file_name) {
  bp::PayloadInfo info;
  if (std::strncmp(file_name, "missing", 7) == 0) return info;
  uint64_t hash = 1469598103934665603ull;
  for (const char* c = file_name; *c != '\0'; ++c) hash = (hash ^ static_cast<uint8_t>(*c)) * 1099511628211ull;
  info.found = true;
  info.size = hash % 0x400000;  // up to 4 MiB, sometimes 0
  if (std::strstr(file_name, "Image") != nullptr) {
    info.linux_header = info.size >= bp::linux_header_size;
    info.text_offset = (hash >> 24) % 3 == 0 ? 0x80000 : 0;
    info.image_size = (hash >> 32) % 5 == 0 ? 0 : info.size + ((hash >> 40) % 0x800000);
  }
  return info;
}

Copy exact_copy(const uint8_t* data, size_t size) {
  Copy copy;
  copy.bytes.reset(static_cast<uint8_t*>(std::malloc(size == 0 ? 1 : size)));
  if (size != 0) std::memcpy(copy.bytes.get(), data, size);
  copy.size = size;
  return copy;
}

void invariant_failed(const char* what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

}  // namespace fuzz
