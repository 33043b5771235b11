// Run time: global errors, the event queue, and the stream table dump.
#include "core/lib/log.hpp"
#include "smmu/driver.hpp"
#include "smmu/registers.hpp"

namespace bulkhead::smmu {
namespace {

struct GlobalError {
  uint32_t mask;
  const char* name;
  const char* meaning;
};
constexpr GlobalError global_errors[] = {
    {static_cast<uint32_t>(gerror::cmdq_err::mask), "CMDQ_ERR", "a command was refused"},
    {static_cast<uint32_t>(gerror::eventq_abt_err::mask), "EVENTQ_ABT_ERR", "event records were lost"},
    {static_cast<uint32_t>(gerror::priq_abt_err::mask), "PRIQ_ABT_ERR", "PRI queue write aborted"},
    {static_cast<uint32_t>(gerror::msi_cmdq_abt_err::mask), "MSI_CMDQ_ABT_ERR", "CMD_SYNC MSI write aborted"},
    {static_cast<uint32_t>(gerror::msi_eventq_abt_err::mask), "MSI_EVENTQ_ABT_ERR", "event queue MSI write aborted"},
    {static_cast<uint32_t>(gerror::msi_priq_abt_err::mask), "MSI_PRIQ_ABT_ERR", "PRI queue MSI write aborted"},
    {static_cast<uint32_t>(gerror::msi_gerror_abt_err::mask), "MSI_GERROR_ABT_ERR", "global error MSI write aborted"},
    {static_cast<uint32_t>(gerror::sfm_err::mask), "SFM_ERR", "the SMMU entered service failure mode"},
};

// Collects what the driver must do about the records it hands to the fault log. It is
// given at most max_stalled records (service() drains in batches of that size), so each
// stalled one has its slot.
class EventHandler final : public EventConsumer {
 public:
  EventHandler(FaultLog& log, const StreamOwnership& owners) : log_(log), owners_(owners) {}
  void event(const EventRecord& record) override {
    const DmaEvent decoded = decode_event(record);
    log_.report(decoded, owners_.owner_of(decoded.stream_id));
    if (decoded.stalled) {
      stalled[stalled_count++] = resume(decoded.stream_id, decoded.stall_tag, true);
    }
  }
  static constexpr size_t max_stalled = 32;
  Command stalled[max_stalled];
  size_t stalled_count = 0;

 private:
  FaultLog& log_;
  const StreamOwnership& owners_;
};

// The state of one StreamID as the dump groups it.
struct RunState {
  StreamTable::Lookup lookup = StreamTable::Lookup::out_of_range;
  SteKind kind = SteKind::invalid;
  uint32_t tag = 0;
  bool operator==(const RunState&) const = default;
};

}  // namespace

bool Driver::check_global_errors(FaultLog* log) {
  Registers& r = *hw_.registers;
  const uint32_t gerror_value = r.read32(reg::gerror);
  const uint32_t active = (gerror_value ^ r.read32(reg::gerrorn)) & gerror::all;
  if (active == 0) return true;
  // A command of ours refused: the command queue repairs and acknowledges it while it
  // waits. Before bring-up ends it is one firmware left (its queue, now replaced): it
  // would stop ours at its first command, so it is reported and acknowledged here.
  if (gerror::cmdq_err::get(active) != 0 && enabled_) sync("recovering from a refused command");
  const uint32_t others = enabled_ ? active & ~static_cast<uint32_t>(gerror::cmdq_err::mask) : active;
  for (const GlobalError& e : global_errors) {
    if ((others & e.mask) == 0) continue;
    if (e.mask == gerror::eventq_abt_err::mask && log != nullptr) {
      log->overflow();  // a flood of faults: rate-limited like the faults themselves
    } else {
      log::error("smmu-v3 {}: global error {}: {}", path_, e.name, e.meaning);
    }
  }
  if (gerror::sfm_err::get(others) != 0) failed_ = true;
  // Acknowledge: GERRORN follows GERROR for the bits handled.
  r.write32(reg::gerrorn, r.read32(reg::gerrorn) ^ others);
  return !failed_;
}

size_t Driver::service(FaultLog& log, const StreamOwnership& owners, size_t limit) {
  if (!enabled_) return 0;
  check_global_errors(&log);
  // In batches no larger than the handler holds resumes: every stalled transaction
  // drained is terminated, however many there are.
  size_t handled = 0;
  bool overflowed = false;
  bool more = true;
  while (more && handled < limit) {
    const size_t left = limit - handled;
    const size_t batch = left < EventHandler::max_stalled ? left : EventHandler::max_stalled;
    EventHandler handler(log, owners);
    const EventQueue::DrainResult drained = eventq_.drain(hw_, handler, batch);
    overflowed = overflowed || drained.overflowed;
    handled += drained.records;
    more = drained.records == batch;  // a short batch: the queue is empty
    // Stalled transactions (an SMMU that forces stalls) are terminated with an abort.
    if (handler.stalled_count != 0 && issue(handler.stalled, handler.stalled_count, "terminating stalled transactions")) {
      sync("terminating stalled transactions");
    }
  }
  if (overflowed) log.overflow();
  return handled;
}

void Driver::dump_stream_table() const {
  if (!enabled_) return;
  const uint64_t count = 1ull << table_.sid_bits();
  uint64_t aborting = 0, translating = 0, bypassing = 0;
  RunState run;
  uint64_t run_start = 0;
  auto flush = [&](uint64_t end) {
    const uint64_t last = end - 1;
    if (run.lookup == StreamTable::Lookup::no_l2_table) {
      log::fact("smmu-v3-ste {}-{} no-l2-table", hex(run_start), hex(last));
    } else if (run.kind == SteKind::stage1) {
      log::fact("smmu-v3-ste {}-{} stage1 asid {}", hex(run_start), hex(last), run.tag);
    } else if (run.kind == SteKind::stage2) {
      log::fact("smmu-v3-ste {}-{} stage2 vmid {}", hex(run_start), hex(last), run.tag);
    } else {
      log::fact("smmu-v3-ste {}-{} {}", hex(run_start), hex(last), ste_kind_name(run.kind));
    }
  };
  for (uint64_t sid = 0; sid < count; ++sid) {
    SteView view;
    RunState state;
    state.lookup = table_.lookup(*hw_.memory, static_cast<uint32_t>(sid), view);
    if (state.lookup == StreamTable::Lookup::ste) {
      state.kind = view.kind;
      if (view.kind == SteKind::stage2) state.tag = view.vmid;
      if (view.kind == SteKind::stage1) {
        CdWords descriptor;
        const auto* words = static_cast<const uint64_t*>(hw_.memory->pointer(view.context_descriptor));
        for (size_t i = 0; words != nullptr && i < cd::words; ++i) descriptor.word[i] = words[i];
        state.tag = decode_context_descriptor(descriptor).asid;
      }
    }
    if (state.lookup == StreamTable::Lookup::no_l2_table || view.aborts()) {
      ++aborting;
    } else if (view.kind == SteKind::bypass) {
      ++bypassing;
    } else {
      ++translating;
    }
    if (sid != 0 && !(state == run)) {
      flush(sid);
      run_start = sid;
    }
    run = state;
  }
  flush(count);
  log::fact("smmu-v3-ste-summary streams {} aborting {} translating {} bypass {} attached {}", count, aborting, translating,
            bypassing, attached_count_);
}

}  // namespace bulkhead::smmu
