// A simulated GICv3 ITS and its redistributors for host tests of core/its: the ITS's
// register file (GITS_TYPER presets, GITS_BASER with read-only type and entry size and
// the page sizes, indirection and shareability it accepts, GITS_CBASER, CWRITER/CREADR,
// CTLR with Quiescent), the command queue executed from memory as QEMU 7.2 does (MAPD,
// MAPC, MAPTI, MAPI, MOVI, DISCARD, CLEAR, INV, INVALL, SYNC; bad parameters ignored),
// flat and two-level device and collection tables in memory with its own entry formats,
// ITTs, and per CPU a redistributor (GICR_TYPER, CTLR.EnableLPIs, PROPBASER, PENDBASER)
// whose pending table lives in memory. `inject(device, event)` is a device's write to
// GITS_TRANSLATER: it makes the LPI pending where its collection points, and `take(cpu)`
// is what that CPU would acknowledge. Failure modes: a queue that is never consumed, a
// command that stalls, Quiescent that never comes.
//
// Memory goes through SimItsMemory, which models a non-coherent ITS: the hardware sees
// only what the driver published (cleaned), and fresh memory holds garbage until then.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/its/hardware.hpp"

namespace bulkhead::sim {

// A clock that moves only when read: a 1 s bound costs a bounded number of polls.
class ItsClock final : public its::Clock {
 public:
  uint64_t now_us() override { return now_ += step_us; }
  void relax() override { now_ += step_us; }
  uint64_t step_us = 100;

 private:
  uint64_t now_ = 0;
};

class SimItsMemory final : public its::PagePool {
 public:
  static constexpr uint64_t default_base = 0x7100000000ull;
  explicit SimItsMemory(uint64_t size = 4 << 20, uint64_t physical_base = default_base);
  ~SimItsMemory();
  SimItsMemory(const SimItsMemory&) = delete;
  SimItsMemory& operator=(const SimItsMemory&) = delete;

  void publish(uint64_t physical, uint64_t bytes, bool coherent) override;

  // The hardware side. A coherent device reads and writes the CPU view directly.
  void set_device_coherent(bool coherent) { device_coherent_ = coherent; }
  bool device_coherent() const { return device_coherent_; }
  bool device_read(uint64_t physical, void* out, uint64_t bytes) const;
  bool device_write(uint64_t physical, const void* data, uint64_t bytes);
  uint64_t read64(uint64_t physical) const;
  uint64_t publishes() const { return publishes_; }
  uint64_t base() const { return base_; }
  uint64_t size() const { return size_; }

 private:
  uint8_t* cpu_ = nullptr;
  uint8_t* device_ = nullptr;
  uint64_t base_;
  uint64_t size_;
  bool device_coherent_ = true;
  uint64_t publishes_ = 0;
};

struct SimItsConfig {
  uint64_t typer = 0;
  unsigned cpus = 4;
  bool accepts_4k = true;
  bool accepts_16k = true;
  bool accepts_64k = true;
  bool indirect = true;   // GITS_BASER.Indirect is kept
  bool coherent = true;   // shareability is kept (else it reads back as none)
  bool collection_table = true;  // GITS_BASER1 describes collections
  uint8_t reset_page_code = 2;   // GITS_BASER.Page_Size at reset (3: reserved)
  uint16_t hcc = 0;
  uint64_t redistributor_base = 0x080a0000;  // CPU i's RD_base at base + i * 0x20000 (for PTA)
  // QEMU 7.2 `virt,gic-version=3`: physical LPIs, 12-byte ITT entries, 16-bit EventIDs,
  // DeviceIDs and collection IDs, RDbase = processor number; GITS_BASER0 devices and
  // GITS_BASER1 collections, 8-byte entries, 64 KiB pages at reset.
  static SimItsConfig qemu_7_2();
};

enum class ItsCommandMode : uint8_t {
  immediate,  // executed when CWRITER is written, like QEMU
  stuck,      // never consumed
};

class SimIts;

class SimRedistributor final : public its::Registers {
 public:
  SimRedistributor(SimIts& its, unsigned index);
  uint32_t read32(uint32_t offset) override;
  void write32(uint32_t offset, uint32_t value) override;
  uint64_t read64(uint32_t offset) override;
  void write64(uint32_t offset, uint64_t value) override;

  bool lpis_enabled() const { return (ctlr_ & 1) != 0; }
  uint64_t propbaser() const { return propbaser_; }
  uint64_t pendbaser() const { return pendbaser_; }
  uint64_t physical() const;
  unsigned index() const { return index_; }
  // Knobs.
  bool plpis = true;
  bool enable_sticks = true;
  void preset_lpis_on() { ctlr_ |= 1; }

 private:
  friend class SimIts;
  SimIts& its_;
  unsigned index_;
  uint32_t ctlr_ = 0;
  uint64_t propbaser_ = 0;
  uint64_t pendbaser_ = 0;
};

// What a write to GITS_TRANSLATER did.
struct ItsDelivery {
  bool pending = false;   // an LPI became pending at a redistributor
  unsigned cpu = 0;
  uint32_t lpi = 0;
  std::string dropped;    // why not, when not
};

class SimIts final : public its::Registers {
 public:
  SimIts(SimItsMemory& memory, SimItsConfig config = SimItsConfig::qemu_7_2());

  uint32_t read32(uint32_t offset) override;
  void write32(uint32_t offset, uint32_t value) override;
  uint64_t read64(uint32_t offset) override;
  void write64(uint32_t offset, uint64_t value) override;

  SimRedistributor& redistributor(unsigned cpu) { return redistributors_.at(cpu); }

  // A device with requester (DeviceID) `device_id` writes `event_id` to GITS_TRANSLATER.
  ItsDelivery inject(uint32_t device_id, uint32_t event_id);
  // The highest-priority pending, enabled LPI of CPU `cpu`, acknowledged (no longer
  // pending); 1023 when there is none.
  uint32_t take(unsigned cpu);
  // Whether `lpi` is pending at CPU `cpu` (from the pending table in memory).
  bool pending(unsigned cpu, uint32_t lpi) const;
  // What the tables in memory say about an event: its LPI and collection, or false.
  bool translate(uint32_t device_id, uint32_t event_id, uint32_t& lpi, uint16_t& icid, std::string& why) const;

  // Failure modes and knobs.
  ItsCommandMode command_mode = ItsCommandMode::immediate;
  std::set<uint8_t> stalling_opcodes;  // the ITS stalls at these
  bool quiescent_stuck = false;
  // Commands as executed ("MAPD device 0x8 bits 2 valid 1"), and what was ignored.
  std::vector<std::string> operations;

  uint32_t ctlr() const { return ctlr_; }
  uint64_t baser(unsigned index) const { return baser_[index]; }
  uint64_t cbaser() const { return cbaser_; }
  uint64_t creadr() const { return creadr_; }
  size_t commands_executed() const { return executed_; }

 private:
  friend class SimRedistributor;
  struct Table {
    bool valid = false;
    bool indirect = false;
    uint64_t base = 0;
    uint64_t page = 0;
    uint64_t entry = 0;
    uint64_t pages = 0;
    uint64_t entries = 0;  // IDs covered
  };
  void enable();
  void process();
  bool execute(const uint64_t (&command)[4]);
  // The address of entry `id`'s slot, or 0 (beyond the table, or no level-2 page).
  uint64_t entry_address(const Table& table, uint64_t id) const;
  SimRedistributor* redistributor_for(uint64_t rdbase);
  SimRedistributor* collection_target(uint16_t icid, std::string& why);
  bool set_pending(SimRedistributor& rd, uint32_t lpi, bool pending, std::string& why);
  uint8_t lpi_config(const SimRedistributor& rd, uint32_t lpi) const;
  unsigned lpi_bits(const SimRedistributor& rd) const;

  SimItsMemory& memory_;
  SimItsConfig config_;
  std::vector<SimRedistributor> redistributors_;
  uint32_t ctlr_ = 1u << 31;  // quiescent
  uint64_t baser_[8] = {};
  uint64_t cbaser_ = 0, cwriter_ = 0, creadr_ = 0;
  Table devices_, collections_;
  uint64_t queue_base_ = 0;
  uint64_t queue_entries_ = 0;
  size_t executed_ = 0;
};

}  // namespace bulkhead::sim
