// CRC-32 as in IEEE 802.3, zlib and PNG (reflected, polynomial 0xEDB88320, initial and
// final XOR 0xffffffff): the integrity check of the partition package.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bulkhead {

// CRC of `size` bytes. To continue over several pieces, pass the previous result as
// `previous`: crc32(b, nb, crc32(a, na)) == crc32 of a followed by b.
uint32_t crc32(const void* data, size_t size, uint32_t previous = 0);

}  // namespace bulkhead
