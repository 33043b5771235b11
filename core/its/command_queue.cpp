#include "core/its/command_queue.hpp"

#include "core/lib/runtime.hpp"

namespace bulkhead::its {

const char* queue_status_name(QueueStatus status) {
  switch (status) {
    case QueueStatus::ok: return "ok";
    case QueueStatus::stalled: return "stalled";
    case QueueStatus::stuck: return "stuck";
    case QueueStatus::too_many: return "too-many";
  }
  return "unknown";
}

void CommandQueue::attach(Registers& registers, TableMemory& memory, Clock& clock, uint64_t physical,
                          uint32_t entries, bool coherent, uint64_t timeout_us) {
  registers_ = &registers;
  memory_ = &memory;
  clock_ = &clock;
  base_ = physical;
  entries_ = entries;
  write_ = 0;
  coherent_ = coherent;
  timeout_us_ = timeout_us;
}

QueueStatus CommandQueue::submit(const Command* commands, size_t count, size_t& failed_index) {
  failed_index = 0;
  if (count == 0) return QueueStatus::ok;
  if (entries_ == 0 || count >= entries_) return QueueStatus::too_many;
  const uint32_t start = write_;
  for (size_t i = 0; i < count; ++i) {
    const uint32_t index = (start + static_cast<uint32_t>(i)) % entries_;
    const uint64_t slot = base_ + static_cast<uint64_t>(index) * command::bytes;
    rt::copy(memory_->pointer(slot), commands[i].dw, command::bytes);
    memory_->publish(slot, command::bytes, coherent_);
  }
  write_ = static_cast<uint32_t>((start + count) % entries_);
  registers_->write64(reg::cwriter, cwriter::offset::put(write_));
  issued_ += count;
  // The ITS consumes in order; it is done when its read offset reaches ours. The wait is
  // bounded: an ITS that stops answering is an error, not a hang.
  const uint64_t started = clock_->now_us();
  for (;;) {
    const uint64_t creadr = registers_->read64(reg::creadr);
    const auto read = static_cast<uint32_t>(creadr::offset::get(creadr));
    if (creadr::stalled::get(creadr) != 0) {
      failed_index = (read + entries_ - start) % entries_;
      return QueueStatus::stalled;
    }
    if (read == write_) return QueueStatus::ok;
    if (clock_->now_us() - started > timeout_us_) {
      failed_index = (read + entries_ - start) % entries_;
      if (failed_index >= count) failed_index = 0;
      return QueueStatus::stuck;
    }
    clock_->relax();
  }
}

}  // namespace bulkhead::its
