// The SMMUv3 driver: brings the SMMU up with every StreamID aborting, builds one DMA
// context per partition (IOVA = guest-physical, exactly the partition's RAM), points
// streams at contexts and back at abort with the invalidations synced, and turns event
// records into fault lines. Portable: it reaches the hardware only through hardware.hpp.
//
// Not thread-safe: the caller serialises every call (one lock around the driver).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/lib/format.hpp"
#include "core/mmu/page_table.hpp"
#include "core/mmu/stage2.hpp"
#include "core/platform/platform.hpp"
#include "smmu/descriptors.hpp"
#include "smmu/faults.hpp"
#include "smmu/features.hpp"
#include "smmu/hardware.hpp"
#include "smmu/queues.hpp"
#include "smmu/stream_table.hpp"

namespace bulkhead::smmu {

constexpr size_t max_attached_streams = 256;
constexpr size_t function_label_capacity = 16;  // "SSSS:BB:DD.F"
constexpr unsigned dma_address_bits = stage2_ipa_bits;  // IOVA = guest-physical: the CPU's stage-2 input size
constexpr unsigned cmdq_log2_entries = 8;       // 256 commands, 4 KiB
constexpr unsigned eventq_log2_entries = 7;     // 128 records, 4 KiB

using ContextId = uint8_t;
constexpr ContextId no_context = 0xff;

struct BringUpOptions {
  // StreamIDs of the enumerated functions (their own and their DMA aliases): their
  // level-2 stream tables are made at bring-up. Others can be added by attach().
  const uint32_t* present_streams = nullptr;
  size_t present_stream_count = 0;
  unsigned context_count = max_contexts;  // VMIDs / ASIDs 1..context_count
  // The CPU's VTCR_EL2 (core/mmu/stage2): a stage-2 context must use the same layout
  // (T0SZ, SL0, TG0) so that IOVA = IPA. 0: not checked.
  uint64_t cpu_vtcr = 0;
  bool enable_interrupts = true;  // event queue and global error interrupts (wired or MSI)
  uint64_t timeout_us = 1000000;  // every wait for the SMMU gives up after this long
};

enum class BringUpResult : uint8_t {
  enabled,        // translating: every StreamID aborts until attached
  absent,         // the firmware DT has no SMMUv3
  refused,        // it lacks something (logged); it stays off with global bypass aborting
  stuck,          // a bounded wait expired or the SMMU failed (logged): fatal, DMA isolation is not assured
  out_of_memory,  // the DMA memory pool is too small (logged)
};
const char* bring_up_result_name(BringUpResult result);

// A partition's DMA context.
struct ContextConfig {
  const char* name = "";   // the partition's name; must outlive the driver
  uint16_t tag = 0;        // 1..: the VMID (stage 2) or ASID (stage 1); the partition's VMID
  uint64_t guest_base = 0; // its RAM: IOVA = guest-physical address
  uint64_t host_base = 0;
  uint64_t size = 0;
};

// The StreamIDs of one PCI function: its own and, behind a conventional bridge, the
// alias its DMA arrives with (pci/routing.hpp). partitions/dma_streams.hpp fills these.
struct FunctionStreams {
  const char* label = "";  // its SBDF, "SSSS:BB:DD.F"
  uint32_t stream_ids[2] = {};
  uint8_t count = 0;
};

class Driver final : public StreamOwnership {
 public:
  constexpr Driver(Registers& registers, DmaMemory& memory, Clock& clock) {
    hw_.registers = &registers;
    hw_.memory = &memory;
    hw_.clock = &clock;
  }

  // Global bypass off: GBPA.ABORT, and translation off if firmware left it on (GBPA then
  // governs all DMA). The first thing the boot does, before PCI enumeration touches a
  // device. enabled (meaning: done), absent or stuck.
  BringUpResult abort_bypass(const PlatformInfo& platform, uint64_t timeout_us = 1000000);
  // abort_bypass(), then probe, stream table, queues, invalidation, enable. Logs the
  // report line or the error naming what is wrong.
  BringUpResult bring_up(const PlatformInfo& platform, const BringUpOptions& options);
  bool ready() const { return enabled_ && !failed_; }
  bool failed() const { return failed_; }
  Stage stage() const { return choice_.stage; }
  const Features& features() const { return features_; }
  const StreamTable& stream_table() const { return table_; }
  bool global_abort_honoured() const { return gbpa_honoured_; }

  // Builds the context's tables: the partition's RAM, nothing else. Boot time.
  ContextId create_context(const ContextConfig& config);
  // Maps one more page into a context (the MSI doorbell), then invalidates its TLB.
  bool map_extra_page(ContextId context, uint64_t iova, uint64_t physical, MemoryType type = MemoryType::device_nGnRE);

  // Points a stream at a context: STE written, CFGI_STE, CMD_SYNC. A stream attached to
  // another context is refused (detach it first); attaching it again is a no-op.
  bool attach(ContextId context, uint32_t stream_id, const char* function_label);
  // Every stream of every function at once (one CMD_SYNC); nothing is written when one
  // of them cannot be attached.
  bool attach_functions(ContextId context, const FunctionStreams* functions, size_t count);
  // A stream back to abort: STE invalid, CFGI_STE, CMD_SYNC.
  bool detach(uint32_t stream_id);
  // Every stream of a context back to abort, its TLB entries invalidated, one CMD_SYNC.
  // True once the SMMU has completed all of it: the context's RAM may then be reused.
  bool detach_context(ContextId context);

  // Global errors, then at most `limit` event records into `log` (owners from
  // `owners`; the driver itself knows what it attached). For the SMMU's interrupts or
  // a bounded-rate poll. Returns the records handled.
  size_t service(FaultLog& log, const StreamOwnership& owners, size_t limit = 64);
  size_t service(FaultLog& log, size_t limit = 64) { return service(log, *this, limit); }

  StreamOwner owner_of(uint32_t stream_id) const override;
  // What the SMMU sees for a StreamID (the table in memory, not the driver's records).
  StreamTable::Lookup lookup(uint32_t stream_id, SteView& view) const;
  // `smmu-v3-ste` lines: every StreamID of the table in runs of equal state.
  void dump_stream_table() const;
  uint64_t memory_used() const { return hw_.memory->used_bytes(); }
  uint64_t commands_issued() const { return cmdq_.commands_issued(); }

 private:
  struct Context {
    bool used = false;
    const char* name = "";
    uint16_t tag = 0;
    uint64_t table_root = 0;
    uint64_t cd = 0;  // stage 1: the context descriptor
    uint64_t tables_low = 0, tables_high = 0;  // physical span of its table pages
    SteWords ste;     // what an attached stream's STE holds
  };
  struct Attachment {
    uint32_t stream_id = 0;
    ContextId context = no_context;
    char label[function_label_capacity] = {};
  };
  // Table pages from the DMA memory, remembering their span for cache maintenance.
  class TablePages final : public PagePool {
   public:
    void attach(DmaMemory* memory) { memory_ = memory; }
    uint64_t allocate_zeroed_page() override;
    uint64_t* pointer(uint64_t physical) override { return static_cast<uint64_t*>(memory_->pointer(physical)); }
    uint64_t low = 0, high = 0;

   private:
    DmaMemory* memory_ = nullptr;
  };

  bool set_global_abort();
  bool write_cr0(uint32_t value);
  bool write_irq_ctrl(uint32_t value);
  bool poll32(uint32_t offset, uint32_t mask, uint32_t expected, const char* what);
  void collect_needs(const PlatformInfo& platform, Needs& needs);
  BringUpResult enable(const BringUpOptions& options);
  uint64_t stage2_vtcr() const;
  bool map_into(Context& context, uint64_t iova, uint64_t physical, uint64_t size, MapAttributes attributes);
  void write_ste(uint32_t stream_id, const SteWords& ste);
  bool issue(const Command* commands, size_t count, const char* why);
  bool sync(const char* why);
  bool queue_failed(QueueStatus status, const char* why);
  bool check_attachable(ContextId context, uint32_t stream_id, bool& already);
  bool make_level2_tables(const Context& context, const FunctionStreams* functions, size_t count, bool& added);
  Attachment* find_attachment(uint32_t stream_id);
  const Attachment* find_attachment(uint32_t stream_id) const;
  bool check_global_errors(FaultLog* log);
  Regime regime() const { return choice_.stage == Stage::two ? Regime::stage2 : Regime::smmu_stage1; }

  HardwareAccess hw_;
  TablePages pages_;
  Features features_;
  StageChoice choice_;
  StreamTable table_;
  CommandQueue cmdq_;
  EventQueue eventq_;
  Context contexts_[max_contexts];
  Attachment attached_[max_attached_streams];
  size_t attached_count_ = 0;
  const char* path_ = "";
  uint64_t streams_ = 0;  // StreamIDs the iommu-maps can produce
  bool enabled_ = false;
  bool failed_ = false;
  bool gbpa_honoured_ = false;
};

}  // namespace bulkhead::smmu
