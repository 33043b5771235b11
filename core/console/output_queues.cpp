#include "core/console/output_queues.hpp"

namespace bulkhead::console {
namespace {
// A partition's queue holds its bytes as they are, except 0xff, which starts a record:
// 0xff 0xff is the byte 0xff, 0xff 0x01 a flush, 0xff 0x02 a detach, 0xff 0x03 a line
// (then its length, 2 bytes little-endian, then its bytes). The hypervisor's queue holds
// lines only: length, then bytes.
constexpr uint8_t record = 0xff;
constexpr uint8_t record_byte = 0xff;
constexpr uint8_t record_flush = 0x01;
constexpr uint8_t record_detach = 0x02;
constexpr uint8_t record_line = 0x03;
constexpr size_t line_length_bytes = 2;
constexpr size_t marker_bytes = 2;
// Room a flush and a detach always find: bytes and lines leave it free.
constexpr size_t marker_reserve = 2 * marker_bytes;

size_t read_length(uint8_t low, uint8_t high) { return low | (size_t{high} << 8); }
}  // namespace

bool OutputQueues::put_guest_byte(size_t partition, uint8_t byte) {
  if (!guest_room(partition)) return false;
  const uint8_t escaped[2] = {record, record_byte};
  return byte == record ? partitions_[partition].push(escaped, 2) : partitions_[partition].push(&byte, 1);
}

bool OutputQueues::guest_room(size_t partition) const {
  return partition < max_consoles && partitions_[partition].room() >= 2 + marker_reserve;
}

size_t OutputQueues::guest_fit(size_t partition) const {
  if (partition >= max_consoles) return 0;
  const size_t room = partitions_[partition].room();
  return room > marker_reserve ? (room - marker_reserve) / 2 : 0;
}

size_t OutputQueues::guest_offer(size_t partition) const {
  if (partition >= max_consoles) return 0;
  const size_t room = partitions_[partition].room();
  return room > marker_reserve + line_reserve ? (room - marker_reserve - line_reserve) / 2 : 0;
}

void OutputQueues::flush_guest(size_t partition) {
  if (partition >= max_consoles) return;
  const uint8_t marker[marker_bytes] = {record, record_flush};
  (void)partitions_[partition].push(marker, marker_bytes);  // only a flush right before can have used the reserve
}

void OutputQueues::detach(size_t partition) {
  if (partition >= max_consoles) return;
  const uint8_t marker[marker_bytes] = {record, record_detach};
  (void)partitions_[partition].push(marker, marker_bytes);
}

bool OutputQueues::line_fits(size_t source, size_t length) const {
  if (source > hypervisor || length == 0 || length > log::max_line) return false;
  if (source == hypervisor) return line_length_bytes + length <= hypervisor_lines_.room();
  return marker_bytes + line_length_bytes + length + marker_reserve + guest_burst_reserve <= partitions_[source].room();
}

bool OutputQueues::put_line(size_t source, const char* text, size_t length) {
  if (source > hypervisor || length == 0 || length > log::max_line) return false;
  if (!line_fits(source, length)) {
    __atomic_add_fetch(&dropped_[source], 1, __ATOMIC_RELAXED);
    return false;
  }
  uint8_t header[marker_bytes + line_length_bytes];
  size_t at = 0;
  if (source != hypervisor) {
    header[at++] = record;
    header[at++] = record_line;
  }
  header[at++] = static_cast<uint8_t>(length);
  header[at++] = static_cast<uint8_t>(length >> 8);
  const auto* bytes = reinterpret_cast<const uint8_t*>(text);
  return source == hypervisor ? hypervisor_lines_.push(header, at, bytes, length)
                              : partitions_[source].push(header, at, bytes, length);
}

bool OutputQueues::partition_empty(size_t partition) const {
  return partition >= max_consoles || (partitions_[partition].used() == 0 && dropped_lines(partition) == 0);
}

bool OutputQueues::empty() const {
  if (hypervisor_lines_.used() != 0 || dropped_lines(hypervisor) != 0) return false;
  for (size_t p = 0; p < max_consoles; ++p) {
    if (!partition_empty(p)) return false;
  }
  return true;
}

bool OutputQueues::next(Item& item) {
  for (size_t step = 0; step < sources; ++step) {
    const size_t source = (turn_ + step) % sources;
    bool taken = take_dropped(source, item);
    if (!taken) taken = source == hypervisor ? take_hypervisor_line(item) : take_partition(source, item);
    if (taken) {
      item.source = source;
      turn_ = (source + 1) % sources;
      return true;
    }
  }
  item.kind = Item::Kind::none;
  return false;
}

// Dropped lines are told once the source's queue is at most half full again.
bool OutputQueues::take_dropped(size_t source, Item& item) {
  if (dropped_lines(source) == 0) return false;
  const size_t used = source == hypervisor ? hypervisor_lines_.used() : partitions_[source].used();
  const size_t capacity = source == hypervisor ? hypervisor_lines_bytes : partition_queue_bytes;
  if (used > capacity / 2) return false;
  item.kind = Item::Kind::dropped;
  item.dropped = __atomic_exchange_n(&dropped_[source], 0, __ATOMIC_RELAXED);
  return true;
}

bool OutputQueues::take_hypervisor_line(Item& item) {
  ByteRing<hypervisor_lines_bytes>& ring = hypervisor_lines_;
  if (ring.used() < line_length_bytes) return false;
  const size_t length = read_length(ring.peek(0), ring.peek(1));
  for (size_t i = 0; i < length; ++i) item.text[i] = static_cast<char>(ring.peek(line_length_bytes + i));
  ring.drop_front(line_length_bytes + length);
  item.kind = Item::Kind::line;
  item.length = length;
  return true;
}

bool OutputQueues::take_partition(size_t partition, Item& item) {
  ByteRing<partition_queue_bytes>& ring = partitions_[partition];
  const size_t used = ring.used();
  if (used == 0) return false;
  // A record the producer pushed whole: a marker or a line.
  if (ring.peek(0) == record && ring.peek(1) != record_byte) {
    const uint8_t kind = ring.peek(1);
    if (kind == record_line) {
      const size_t length = read_length(ring.peek(2), ring.peek(3));
      const size_t header = marker_bytes + line_length_bytes;
      for (size_t i = 0; i < length; ++i) item.text[i] = static_cast<char>(ring.peek(header + i));
      ring.drop_front(header + length);
      item.kind = Item::Kind::line;
      item.length = length;
      return true;
    }
    ring.drop_front(marker_bytes);
    item.kind = kind == record_detach ? Item::Kind::detach : Item::Kind::flush;
    return true;
  }
  // The partition's bytes, up to and including one newline, up to the next record, and
  // no more than a line's worth of characters on the console (`\xHH` is four).
  size_t consumed = 0;
  size_t length = 0;
  size_t shown = 0;
  while (consumed < used && length < sizeof(item.text)) {
    const uint8_t byte = ring.peek(consumed);
    if (byte == record && ring.peek(consumed + 1) != record_byte) break;
    if (length != 0 && shown + shown_width(byte) > item_characters) break;
    consumed += byte == record ? 2 : 1;
    shown += shown_width(byte);
    item.text[length++] = static_cast<char>(byte);
    if (byte == '\n') break;
  }
  ring.drop_front(consumed);
  item.kind = Item::Kind::guest_bytes;
  item.length = length;
  return true;
}

}  // namespace bulkhead::console
