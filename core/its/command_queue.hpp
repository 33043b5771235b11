// The ITS command queue: commands written at GITS_CWRITER's offset, made visible to the
// ITS, handed over by advancing GITS_CWRITER, then waited for until GITS_CREADR has
// passed them, for a bounded time. A stalled ITS (GITS_CREADR.Stalled: it could not
// execute a command) and one that stops consuming are reported, never waited on forever.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/its/commands.hpp"
#include "core/its/hardware.hpp"

namespace bulkhead::its {

enum class QueueStatus : uint8_t {
  ok,
  stalled,   // the ITS stopped at a command it could not execute
  stuck,     // the ITS did not consume the commands within the bound
  too_many,  // more commands than the queue holds at once (a driver bug)
};
const char* queue_status_name(QueueStatus status);

class CommandQueue {
 public:
  constexpr CommandQueue() = default;
  // The queue's memory: `entries` commands at `physical` (GITS_CBASER already points at
  // it; GITS_CWRITER and GITS_CREADR are 0).
  void attach(Registers& registers, TableMemory& memory, Clock& clock, uint64_t physical, uint32_t entries,
              bool coherent, uint64_t timeout_us);

  // Writes the commands, hands them over and waits until the ITS has consumed them all.
  // On failure `failed_index` says which command (of `commands`) the ITS stopped at.
  QueueStatus submit(const Command* commands, size_t count, size_t& failed_index);

  uint64_t commands_issued() const { return issued_; }
  uint32_t write_index() const { return write_; }

 private:
  Registers* registers_ = nullptr;
  TableMemory* memory_ = nullptr;
  Clock* clock_ = nullptr;
  uint64_t base_ = 0;
  uint32_t entries_ = 0;
  uint32_t write_ = 0;  // the next free slot (the ITS has consumed everything before it)
  bool coherent_ = true;
  uint64_t timeout_us_ = 0;
  uint64_t issued_ = 0;
};

}  // namespace bulkhead::its
