// The command queue (driver produces, SMMU consumes) and the event queue (SMMU
// produces, driver consumes): circular buffers in DMA memory whose PROD/CONS registers
// carry an index and a wrap bit. Every wait is bounded by the clock.
#pragma once

#include <cstddef>
#include <cstdint>

#include "smmu/commands.hpp"
#include "smmu/hardware.hpp"

namespace bulkhead::smmu {

// Index arithmetic of a queue of 2^log2 entries: values are index | wrap << log2.
class QueueIndex {
 public:
  constexpr QueueIndex() = default;
  constexpr explicit QueueIndex(unsigned log2_entries) : log2_(log2_entries) {}
  constexpr uint32_t entries() const { return 1u << log2_; }
  constexpr uint32_t mask() const { return (entries() << 1) - 1; }  // index and wrap bit
  constexpr uint32_t slot(uint32_t value) const { return value & (entries() - 1); }
  constexpr uint32_t next(uint32_t value) const { return (value + 1) & mask(); }
  constexpr uint32_t used(uint32_t prod, uint32_t cons) const { return (prod - cons) & mask(); }
  constexpr bool full(uint32_t prod, uint32_t cons) const { return used(prod, cons) == entries(); }
  constexpr unsigned log2_entries() const { return log2_; }

 private:
  unsigned log2_ = 0;
};

// Where the driver reaches the hardware: shared by the queues and the tables.
struct HardwareAccess {
  Registers* registers = nullptr;
  DmaMemory* memory = nullptr;
  Clock* clock = nullptr;
  bool coherent = false;
  uint64_t timeout_us = 1000000;  // every poll gives up after this long
};

enum class QueueStatus : uint8_t {
  ok,
  timeout,        // the SMMU did not consume within the timeout: it is stuck
  command_error,  // the SMMU refused a command (CMDQ_CONS.ERR); it was skipped
};

class CommandQueue {
 public:
  // Allocates 2^log2 entries. False when the memory is exhausted.
  bool allocate(DmaMemory& memory, unsigned log2_entries);
  uint64_t base_register() const;
  const QueueIndex& index() const { return index_; }
  uint64_t physical() const { return base_; }

  // Adds commands, waiting (bounded) for room; PROD is written once they are all in.
  QueueStatus submit(const HardwareAccess& hw, const Command* commands, size_t count);
  // CMD_SYNC, then waits (bounded) until the SMMU has consumed everything before it.
  QueueStatus sync(const HardwareAccess& hw);

  // Diagnostics of the last failure.
  uint32_t last_prod() const { return prod_; }
  uint32_t last_cons() const { return cons_seen_; }
  uint8_t error_opcode() const { return error_opcode_; }
  uint32_t error_code() const { return error_code_; }
  uint64_t commands_issued() const { return issued_; }

 private:
  // Polls CONS until `done(used)` or the timeout, repairing refused commands.
  template <typename Done>
  QueueStatus wait(const HardwareAccess& hw, Done done);
  void skip_refused_command(const HardwareAccess& hw, uint32_t cons);

  QueueIndex index_;
  uint64_t base_ = 0;
  uint32_t prod_ = 0;
  uint32_t cons_seen_ = 0;
  uint8_t error_opcode_ = 0;
  uint32_t error_code_ = 0;
  bool refused_ = false;
  uint64_t issued_ = 0;
};

class EventConsumer {
 public:
  virtual void event(const EventRecord& record) = 0;

 protected:
  ~EventConsumer() = default;
};

class EventQueue {
 public:
  bool allocate(DmaMemory& memory, unsigned log2_entries);
  uint64_t base_register() const;
  const QueueIndex& index() const { return index_; }
  uint64_t physical() const { return base_; }

  struct DrainResult {
    size_t records = 0;
    bool overflowed = false;  // the SMMU dropped events since the last drain
  };
  // Hands at most `limit` records to `consumer`, then frees their slots.
  DrainResult drain(const HardwareAccess& hw, EventConsumer& consumer, size_t limit);

 private:
  QueueIndex index_;
  uint64_t base_ = 0;
  uint32_t cons_ = 0;  // with the overflow flag last acknowledged
};

}  // namespace bulkhead::smmu
