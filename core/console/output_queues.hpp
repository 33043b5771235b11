// What waits for the physical UART while partitions run: per partition, one queue of the
// bytes its virtual UART transmitted and the hypervisor's lines about it, in the order
// they happened; and the hypervisor's other lines. Producers (the CPUs of a partition, any CPU for hypervisor lines) only copy into
// their own queue and never wait for the UART or for another partition; one drainer (the
// boot CPU) takes the queues in turn, one line each, and writes them out.
//
// The bound that gives: a line that reaches the front of its queue goes out after at most
// one line from every other non-empty queue, i.e. partitions + 1 lines. A partition that
// floods fills only its own queue:
// - its virtual UART reads full (FR.TXFF) once the queue offers less than a FIFO's worth
//   (`guest_offer`), and the guest waits as it would for real hardware, so its output is
//   slowed, never lost. The offer leaves `line_reserve` bytes to the hypervisor's lines
//   about the partition, and those lines leave `guest_burst_reserve` bytes to what a
//   guest told its FIFO is empty may still write without looking (`guest_fit`);
// - hypervisor lines about it that find no room (a burst beyond the reserve) are dropped
//   and counted; the drainer says so once the queue is half empty
//   (Item::Kind::dropped: `bulkhead: partition NAME log-dropped N`).
//
// Concurrency: each queue is a single-producer single-consumer ring (acquire/release on
// its indices). The target serialises the producers of one queue with a lock held for a
// copy only, and runs one drainer at a time.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/console/console_mux.hpp"
#include "core/console/virtual_pl011.hpp"

namespace bulkhead::console {

// A single-producer single-consumer byte ring.
template <size_t Capacity>
class ByteRing {
  static_assert((Capacity & (Capacity - 1)) == 0, "a power of two: indices wrap freely");

 public:
  size_t used() const { return load(tail_) - load(head_); }
  size_t room() const { return Capacity - used(); }
  // All `length` bytes or none (producer).
  bool push(const uint8_t* bytes, size_t length) { return push(bytes, length, nullptr, 0); }
  // `head` then `tail`, all or none, seen by the consumer at once (producer).
  bool push(const uint8_t* head, size_t head_length, const uint8_t* tail, size_t tail_length);
  // The byte `index` places behind the oldest one (consumer; index < used()).
  uint8_t peek(size_t index) const { return bytes_[(load(head_) + index) & (Capacity - 1)]; }
  // Forgets the `count` oldest bytes (consumer).
  void drop_front(size_t count) { __atomic_store_n(&head_, load(head_) + count, __ATOMIC_RELEASE); }

 private:
  static size_t load(const size_t& index) { return __atomic_load_n(&index, __ATOMIC_ACQUIRE); }
  uint8_t bytes_[Capacity] = {};
  size_t head_ = 0;  // consumer's
  size_t tail_ = 0;  // producer's
};

template <size_t Capacity>
bool ByteRing<Capacity>::push(const uint8_t* head, size_t head_length, const uint8_t* tail, size_t tail_length) {
  if (head_length + tail_length > room()) return false;
  const size_t at = load(tail_);
  // Each piece in at most two runs (before and after the wrap): no mask per byte (the
  // boot's report lines go through here before the partitions' first instructions).
  const auto put = [this](size_t from, const uint8_t* data, size_t length) {
    const size_t offset = from & (Capacity - 1);
    const size_t first = length < Capacity - offset ? length : Capacity - offset;
    for (size_t i = 0; i < first; ++i) bytes_[offset + i] = data[i];
    for (size_t i = first; i < length; ++i) bytes_[i - first] = data[i];
  };
  put(at, head, head_length);
  put(at + head_length, tail, tail_length);
  __atomic_store_n(&tail_, at + head_length + tail_length, __ATOMIC_RELEASE);
  return true;
}

constexpr size_t partition_queue_bytes = 4096;  // a partition's bytes and the lines about it
constexpr size_t hypervisor_lines_bytes = 8192;  // hypervisor lines about no partition
// Room in a partition's queue its UART never offers the guest: the hypervisor's lines
// about the partition (faults, restarts, `off`) still fit while it floods.
constexpr size_t line_reserve = 1024;
// Room those lines always leave: a FIFO's worth of bytes, each perhaps escaped (0xff),
// that a guest told its FIFO is empty may write without looking.
constexpr size_t guest_burst_reserve = 2 * VirtualPl011::tx_fifo_depth;
// What one item of a partition's bytes shows as on the console at most (shown_width):
// as long as the longest hypervisor line, whatever bytes the guest writes.
constexpr size_t item_characters = log::max_line;

class OutputQueues {
 public:
  // The source of lines about no partition in particular.
  static constexpr size_t hypervisor = max_consoles;

  // What the drainer does next.
  struct Item {
    enum class Kind : uint8_t { none, guest_bytes, line, flush, detach, dropped };
    Kind kind = Kind::none;
    size_t source = 0;  // a partition (0..max_consoles-1) or `hypervisor`
    size_t length = 0;  // guest_bytes, line: bytes in `text`
    uint64_t dropped = 0;
    char text[log::max_line] = {};
  };

  // Producer, the source's lock held: a byte partition `partition`'s virtual UART
  // transmitted. False (nothing queued) when the queue has no room.
  bool put_guest_byte(size_t partition, uint8_t byte);
  // Whether a byte would be taken now.
  bool guest_room(size_t partition) const;
  // Bytes the partition's UART offers its guest now (it reads full below a FIFO's
  // worth), and bytes the queue takes from it at most (whatever their values).
  size_t guest_offer(size_t partition) const;
  size_t guest_fit(size_t partition) const;
  // Producer: the partition's partial line is to be shown as it is (it stops or
  // restarts); its console goes once what it queued before is out (it is gone for good).
  // Always queued: room is kept for them.
  void flush_guest(size_t partition);
  void detach(size_t partition);

  // Producer, the source's lock held: a whole line (ending in '\n'), behind the bytes and
  // lines queued before it. Dropped and counted when the source's queue has no room
  // (a partition's: none beyond guest_burst_reserve).
  bool put_line(size_t source, const char* text, size_t length);
  // Whether put_line would take a line of `length` bytes now.
  bool line_fits(size_t source, size_t length) const;

  // Drainer: the next thing to do, taking sources in turn (partitions, then the
  // hypervisor), one item each: a partition's bytes up to and including one '\n' and
  // showing as at most item_characters, a line, a marker. False when everything is empty.
  bool next(Item& item);
  bool empty() const;
  bool partition_empty(size_t partition) const;
  uint64_t dropped_lines(size_t source) const { return __atomic_load_n(&dropped_[source], __ATOMIC_RELAXED); }

 private:
  static constexpr size_t sources = max_consoles + 1;

  bool take_dropped(size_t source, Item& item);
  bool take_hypervisor_line(Item& item);
  bool take_partition(size_t partition, Item& item);

  ByteRing<partition_queue_bytes> partitions_[max_consoles];
  ByteRing<hypervisor_lines_bytes> hypervisor_lines_;
  uint64_t dropped_[sources] = {};
  size_t turn_ = 0;  // the source to look at first
};

}  // namespace bulkhead::console
