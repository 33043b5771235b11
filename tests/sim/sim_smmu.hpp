// A simulated SMMUv3 for host tests of smmu/: the register file (ID registers, GBPA
// with its update handshake, CR0/CR0ACK, IRQ_CTRL/ACK, GERROR/GERRORN), the command
// queue with the commands the driver issues (CFGI_*, TLBI_*, CMD_SYNC, CMD_RESUME), the
// stream table (linear and 2-level) with its own STE and CD decoding and page-table
// walks, a configuration cache and a TLB that only commands invalidate, the event queue
// (records written as the hardware would, and injected by tests), and failure modes: a
// command queue that never drains, CR0ACK that never follows CR0 (or some of its bits),
// IRQ_CTRLACK that never follows IRQ_CTRL, a GBPA update that never completes, refused
// commands.
//
// Memory the SMMU reads goes through SimDmaMemory, which models a non-coherent SMMU:
// it sees only what the driver published (cleaned), and the driver sees its writes
// only after refresh().
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "smmu/commands.hpp"
#include "smmu/hardware.hpp"

namespace bulkhead::sim {

// A clock that moves only when read: a 1 s timeout costs a bounded number of polls.
class FakeClock final : public smmu::Clock {
 public:
  uint64_t now_us() override { return now_ += step_us; }
  void relax() override { now_ += step_us; }
  void advance(uint64_t us) { now_ += us; }
  uint64_t now() const { return now_; }
  uint64_t step_us = 100;

 private:
  uint64_t now_ = 0;
};

// DMA memory at a made-up physical base, with a CPU view and a device view.
class SimDmaMemory final : public smmu::RegionMemory {
 public:
  static constexpr uint64_t default_base = 0x7000000000ull;
  explicit SimDmaMemory(uint64_t size = 4 << 20, uint64_t physical_base = default_base);
  ~SimDmaMemory();
  SimDmaMemory(const SimDmaMemory&) = delete;
  SimDmaMemory& operator=(const SimDmaMemory&) = delete;

  void publish(uint64_t physical, uint64_t bytes, bool coherent) override;
  void refresh(uint64_t physical, uint64_t bytes, bool coherent) override;

  // The device side. A coherent device reads and writes the CPU view directly.
  void set_device_coherent(bool coherent) { device_coherent_ = coherent; }
  bool device_read(uint64_t physical, void* out, uint64_t bytes) const;
  bool device_write(uint64_t physical, const void* data, uint64_t bytes);
  uint64_t publishes() const { return publishes_; }

 private:
  uint8_t* cpu_ = nullptr;
  uint8_t* device_ = nullptr;
  uint64_t base_;
  uint64_t size_;
  bool device_coherent_ = true;
  uint64_t publishes_ = 0;
};

// ID register presets.
struct SimSmmuConfig {
  uint32_t idr[6] = {};
  bool gbpa_implemented = true;
  // QEMU 7.2 `virt,iommu=smmuv3`: stage 1 only, AArch64 tables, coherent, 16-bit ASIDs,
  // little-endian walks, no stalls, 2-level stream tables, 16-bit StreamIDs, queues up
  // to 2^19, 4 KiB and 64 KiB granules, 44-bit output addresses, no GBPA.
  static SimSmmuConfig qemu_7_2();
  // An SMMU with both stages and 16-bit VMIDs, GBPA implemented (e.g. QEMU 8.1+ with
  // stage=nested, or an MMU-600).
  static SimSmmuConfig two_stages();
};

enum class CommandMode : uint8_t {
  immediate,     // consumed when PROD is written, like QEMU
  one_per_poll,  // one command per CMDQ_CONS read: the driver's polls are exercised
  stuck,         // never consumed: CMD_SYNC never completes
};

// What one DMA transaction did.
struct DmaOutcome {
  enum class Kind : uint8_t { translated, bypassed, aborted, faulted, stalled } kind = Kind::aborted;
  uint64_t physical = 0;
  uint8_t attributes = 0;  // a fresh walk's memory type: the MAIR byte (stage 1) or MemAttr (stage 2)
  uint8_t event = 0;       // the event type recorded (0: none)
  bool reaches_memory() const { return kind == Kind::translated || kind == Kind::bypassed; }
};

class SimSmmu final : public smmu::Registers {
 public:
  SimSmmu(SimDmaMemory& memory, SimSmmuConfig config = SimSmmuConfig::qemu_7_2());

  uint32_t read32(uint32_t offset) override;
  void write32(uint32_t offset, uint32_t value) override;
  uint64_t read64(uint32_t offset) override;
  void write64(uint32_t offset, uint64_t value) override;

  // Failure modes and knobs.
  CommandMode command_mode = CommandMode::immediate;
  bool cr0ack_stuck = false;
  uint32_t cr0ack_ignored_bits = 0;  // CR0 bits CR0ACK never reflects (e.g. SMMUEN)
  bool irq_ctrlack_stuck = false;    // IRQ_CTRLACK keeps its value
  bool gbpa_update_stuck = false;    // a GBPA write with Update set never completes
  std::set<uint8_t> refused_opcodes;  // answered with CERROR_ILL
  // What happened, in order: register writes that change state ("CR0 0x..."), commands
  // as consumed ("CMD_CFGI_STE 0x8 ste stage1 asid 1"), interrupts. Tests add their own.
  std::vector<std::string> operations;

  // A transaction from a device (read or write), translated as the SMMU would.
  DmaOutcome dma(uint32_t stream_id, uint64_t iova, bool write);
  // Where a StreamID's transactions go, from the tables in memory (no caches, no event).
  enum class Route : uint8_t { aborts, bypasses, translates };
  Route route(uint32_t stream_id);
  // An event record written as the SMMU does (tests of the fault path).
  bool inject_event(const smmu::EventRecord& record);

  uint32_t cr0() const { return cr0_; }
  uint32_t gbpa() const { return gbpa_; }
  uint32_t irq_ctrl() const { return irq_ctrl_; }
  uint64_t strtab_base() const { return strtab_base_; }
  uint32_t strtab_base_cfg() const { return strtab_base_cfg_; }
  uint32_t cmdq_cons() const { return cmdq_cons_; }
  uint32_t eventq_prod() const { return eventq_prod_; }
  size_t config_cache_size() const { return config_cache_.size(); }
  size_t tlb_size() const { return tlb_.size(); }
  size_t commands_consumed() const { return consumed_; }
  size_t eventq_interrupts() const { return eventq_interrupts_; }
  size_t gerror_interrupts() const { return gerror_interrupts_; }
  void raise_global_error(uint32_t mask);

 private:
  struct Config {
    enum class Kind : uint8_t { abort, bypass, stage1, stage2 } kind = Kind::abort;
    uint32_t tag = 0;  // ASID or VMID: the TLB's tag
    uint64_t root = 0;
    unsigned input_bits = 0;
    unsigned output_bits = 0;
    bool record_faults = false;
    bool stall = false;
    uint64_t mair = 0;  // stage 1: the context descriptor's
  };
  // Fetches and checks the configuration of a StreamID; 0 or the event type of the error.
  uint8_t fetch_config(uint32_t stream_id, Config& config, std::string* description = nullptr);
  uint8_t walk(const Config& config, uint64_t iova, bool write, uint64_t& physical);
  void consume_commands(size_t limit);
  bool execute(const smmu::Command& command);
  void record_event(uint8_t type, uint32_t stream_id, uint64_t address, bool write, bool stage2, bool stall);
  bool queue_enabled(uint32_t bit) const { return (cr0_ & bit) != 0; }
  std::string describe_ste(uint32_t stream_id);

  SimDmaMemory& memory_;
  SimSmmuConfig config_;
  uint32_t cr0_ = 0, cr0ack_ = 0, cr1_ = 0, cr2_ = 0, gbpa_ = 0, irq_ctrl_ = 0, irq_ctrlack_ = 0;
  uint32_t gerror_ = 0, gerrorn_ = 0;
  uint64_t gerror_irq_cfg0_ = 0, eventq_irq_cfg0_ = 0;
  uint64_t strtab_base_ = 0;
  uint32_t strtab_base_cfg_ = 0;
  uint64_t cmdq_base_ = 0;
  uint32_t cmdq_prod_ = 0, cmdq_cons_ = 0;
  uint64_t eventq_base_ = 0;
  uint32_t eventq_prod_ = 0, eventq_cons_ = 0;
  uint16_t next_stall_tag_ = 1;
  uint8_t last_attributes_ = 0;
  std::map<uint32_t, Config> config_cache_;
  std::map<std::pair<uint32_t, uint64_t>, uint64_t> tlb_;  // (stage << 16 | tag, page) -> page | writable
  size_t consumed_ = 0;
  size_t eventq_interrupts_ = 0;
  size_t gerror_interrupts_ = 0;
};

}  // namespace bulkhead::sim
