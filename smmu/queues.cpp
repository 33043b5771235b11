#include "smmu/queues.hpp"

#include "core/lib/runtime.hpp"
#include "smmu/registers.hpp"

namespace bulkhead::smmu {

bool CommandQueue::allocate(DmaMemory& memory, unsigned log2_entries) {
  index_ = QueueIndex(log2_entries);
  base_ = memory.allocate(static_cast<uint64_t>(index_.entries()) * cmd::bytes);
  prod_ = 0;
  cons_seen_ = 0;
  return base_ != 0;
}

uint64_t CommandQueue::base_register() const {
  return queue_base::address::get(base_) | queue_base::log2size::put(index_.log2_entries()) | queue_base::allocate::put(1);
}

template <typename Done>
QueueStatus CommandQueue::wait(const HardwareAccess& hw, Done done) {
  const uint64_t start = hw.clock->now_us();
  for (;;) {
    const uint32_t cons_register = hw.registers->read32(reg::cmdq_cons);
    cons_seen_ = cons_register & index_.mask();
    const uint32_t active = hw.registers->read32(reg::gerror) ^ hw.registers->read32(reg::gerrorn);
    if (gerror::cmdq_err::get(active) != 0) {
      error_code_ = static_cast<uint32_t>(cmdq_cons::err::get(cons_register));
      skip_refused_command(hw, cons_seen_);
    } else if (done(index_.used(prod_, cons_seen_))) {
      return refused_ ? QueueStatus::command_error : QueueStatus::ok;
    }
    if (hw.clock->now_us() - start >= hw.timeout_us) return QueueStatus::timeout;
    hw.clock->relax();
  }
}

// The SMMU stopped at CONS on a command it refused. Like Linux, put a CMD_SYNC in its
// place and acknowledge the error, so the queue moves on; the caller reports it.
void CommandQueue::skip_refused_command(const HardwareAccess& hw, uint32_t cons) {
  const uint64_t slot = base_ + static_cast<uint64_t>(index_.slot(cons)) * cmd::bytes;
  auto* entry = static_cast<Command*>(hw.memory->pointer(slot));
  error_opcode_ = entry->opcode();
  refused_ = true;
  *entry = cmd_sync(false);
  hw.memory->publish(slot, cmd::bytes, hw.coherent);
  hw.registers->write32(reg::gerrorn,
                        static_cast<uint32_t>(gerror::cmdq_err::replace(hw.registers->read32(reg::gerrorn),
                                                                        gerror::cmdq_err::get(hw.registers->read32(reg::gerror)))));
}

QueueStatus CommandQueue::submit(const HardwareAccess& hw, const Command* commands, size_t count) {
  refused_ = false;
  size_t written = 0;
  while (written < count) {
    // Room for at least one more: wait for the SMMU when the queue is full.
    if (index_.full(prod_, cons_seen_)) {
      hw.registers->write32(reg::cmdq_prod, prod_);  // let it consume what is already in
      const QueueStatus status = wait(hw, [&](uint32_t used) { return used < index_.entries(); });
      if (status == QueueStatus::timeout) return status;
    }
    const uint64_t slot = base_ + static_cast<uint64_t>(index_.slot(prod_)) * cmd::bytes;
    rt::copy(hw.memory->pointer(slot), &commands[written], cmd::bytes);
    hw.memory->publish(slot, cmd::bytes, hw.coherent);
    prod_ = index_.next(prod_);
    ++written;
    ++issued_;
  }
  hw.registers->write32(reg::cmdq_prod, prod_);
  return refused_ ? QueueStatus::command_error : QueueStatus::ok;
}

QueueStatus CommandQueue::sync(const HardwareAccess& hw) {
  const Command sync_command = cmd_sync(false);
  const bool refused_before = refused_;
  const QueueStatus queued = submit(hw, &sync_command, 1);
  if (queued == QueueStatus::timeout) return queued;
  refused_ = refused_before || queued == QueueStatus::command_error;
  const QueueStatus status = wait(hw, [](uint32_t used) { return used == 0; });
  refused_ = false;  // reported once: the next sync covers only what comes after this one
  return status;
}

bool EventQueue::allocate(DmaMemory& memory, unsigned log2_entries) {
  index_ = QueueIndex(log2_entries);
  base_ = memory.allocate(static_cast<uint64_t>(index_.entries()) * evt::bytes);
  cons_ = 0;
  return base_ != 0;
}

uint64_t EventQueue::base_register() const {
  return queue_base::address::get(base_) | queue_base::log2size::put(index_.log2_entries()) | queue_base::allocate::put(1);
}

EventQueue::DrainResult EventQueue::drain(const HardwareAccess& hw, EventConsumer& consumer, size_t limit) {
  DrainResult result;
  const uint32_t prod_register = hw.registers->read32(reg::eventq_prod);
  const uint32_t prod = prod_register & index_.mask();
  const uint32_t overflow = static_cast<uint32_t>(eventq_index::overflow::mask) & prod_register;
  result.overflowed = overflow != (cons_ & static_cast<uint32_t>(eventq_index::overflow::mask));
  uint32_t cons = cons_ & index_.mask();
  while (cons != prod && result.records < limit) {
    const uint64_t slot = base_ + static_cast<uint64_t>(index_.slot(cons)) * evt::bytes;
    hw.memory->refresh(slot, evt::bytes, hw.coherent);
    EventRecord record;
    rt::copy(&record, hw.memory->pointer(slot), evt::bytes);
    consumer.event(record);
    cons = index_.next(cons);
    ++result.records;
  }
  // Writing CONS frees the slots; copying PROD's overflow flag acknowledges the loss.
  cons_ = cons | overflow;
  hw.registers->write32(reg::eventq_cons, cons_);
  return result;
}

}  // namespace bulkhead::smmu
