// What waits for the physical UART while partitions run: per partition, one queue of the
// bytes its virtual UART transmitted and the hypervisor's lines about it, in the order
// they happened; and the hypervisor's other lines. Producers (the CPUs of a partition, any CPU for hypervisor lines) only copy into
// their own queue and never wait for the UART or for another partition; one drainer (the
// boot CPU) takes the queues in turn, one line each, and writes them out.
//
// The bound that gives: a line that reaches the front of its queue goes out after at most
// one line from every other non-empty queue, i.e. partitions + 1 lines. A partition that
// floods fills only its own queue:
// - its virtual UART sees the queue full (FR.TXFF) and waits as it would for real hardware,
//   so its output is slowed, never lost (`guest_room`);
// - hypervisor lines about it that find no room are dropped and counted; the drainer says
//   so once the queue is half empty (Item::Kind::dropped: `bulkhead: partition NAME
//   log-dropped N`).
//
// Concurrency: each queue is a single-producer single-consumer ring (acquire/release on
// its indices). The target serialises the producers of one queue with a lock held for a
// copy only, and runs one drainer at a time.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/console/console_mux.hpp"

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
  for (size_t i = 0; i < head_length; ++i) bytes_[(at + i) & (Capacity - 1)] = head[i];
  for (size_t i = 0; i < tail_length; ++i) bytes_[(at + head_length + i) & (Capacity - 1)] = tail[i];
  __atomic_store_n(&tail_, at + head_length + tail_length, __ATOMIC_RELEASE);
  return true;
}

constexpr size_t partition_queue_bytes = 4096;  // a partition's bytes and the lines about it
constexpr size_t hypervisor_lines_bytes = 8192;  // hypervisor lines about no partition

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
  // transmitted. False (nothing queued) when the queue has no room: the UART then
  // reports itself full.
  bool put_guest_byte(size_t partition, uint8_t byte);
  // Whether a byte would be taken now (the UART's FR.TXFF is the opposite).
  bool guest_room(size_t partition) const;
  // Producer: the partition's partial line is to be shown as it is (it stops or
  // restarts); its console goes once what it queued before is out (it is gone for good).
  // Always queued: room is kept for them.
  void flush_guest(size_t partition);
  void detach(size_t partition);

  // Producer, the source's lock held: a whole line (ending in '\n'), behind the bytes and
  // lines queued before it. Dropped and counted when the source's queue has no room.
  bool put_line(size_t source, const char* text, size_t length);
  // Whether put_line would take a line of `length` bytes now.
  bool line_fits(size_t source, size_t length) const;

  // Drainer: the next thing to do, taking sources in turn (partitions, then the
  // hypervisor), one item each: a partition's bytes up to and including one '\n', a
  // line, a marker. False when everything is empty.
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
