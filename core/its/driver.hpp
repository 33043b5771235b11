// The physical GICv3 ITS and the redistributors' LPI side: bring-up (device and
// collection tables, flat or two-level as GITS_BASER allows; the command queue), LPIs
// per redistributor (one shared configuration table, a pending table each,
// GICR_CTLR.EnableLPIs) with one collection per physical CPU, then the translations:
// a device's ITT (MAPD), an event's LPI and CPU (MAPTI, MOVI, DISCARD), each followed
// by SYNC and waited for within a bound. Portable: hardware only through hardware.hpp.
//
// Every failure is a Status and one error line naming the ITS, the request and what went
// wrong; a request that fails leaves nothing half-done (memory given back, no table entry
// left pointing at it). A stuck or stalled ITS fails the driver for good: every later
// request is refused, since what the ITS did with the commands is unknown.
//
// Not thread-safe: the caller serialises every call (one lock around the driver).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/its/command_queue.hpp"
#include "core/its/commands.hpp"
#include "core/its/hardware.hpp"
#include "core/its/registers.hpp"
#include "core/platform/platform.hpp"

namespace bulkhead::its {

constexpr size_t max_devices = 128;       // DeviceIDs mapped at once
constexpr unsigned max_collections = max_cpus;  // one per physical CPU
constexpr unsigned max_lpi_id_bits = 16;   // LPI INTIDs below 65536
constexpr uint32_t max_lpis = (uint32_t{1} << max_lpi_id_bits) - first_lpi;
constexpr unsigned max_event_bits = 16;    // EventIDs per device: 65536 at most

struct Config {
  const char* path = "";              // the ITS's firmware DT path, for log lines; must outlive the driver
  unsigned cpu_count = 1;             // collections 0..cpu_count-1: collection i delivers to CPU i (boot CPU order)
  unsigned lpi_id_bits = 15;          // LPI INTIDs below 2^bits (8192.. 32767 by default)
  unsigned interrupt_id_bits = 16;    // the distributor's INTID bits (GICD_TYPER.IDbits + 1); caps lpi_id_bits
  uint32_t device_id_limit = 0x10000; // DeviceIDs below this are mappable (sizes a flat device table)
  unsigned command_queue_pages = 1;   // 4 KiB each: 128 commands
  uint8_t lpi_priority = 0xa0;        // every LPI's priority (upper 6 bits used)
  uint64_t timeout_us = 1000000;      // every wait for the ITS or a redistributor gives up after this long
};

enum class Status : uint8_t {
  ok,
  refused,        // the hardware lacks something (logged)
  stuck,          // a bounded wait expired, or the ITS stalled (logged): the driver is failed
  out_of_memory,  // the table memory is exhausted (logged); nothing was kept
  exhausted,      // no LPIs left, or no room in the driver's fixed tables (logged)
  bad_request,    // out of range or inconsistent with what is mapped (logged)
  not_ready,      // bring_up() has not succeeded, or the driver failed
};
const char* status_name(Status status);

// What bring-up learnt and chose, for the report line and the tests.
struct Layout {
  uint32_t itt_entry_bytes = 0;
  unsigned event_bits = 0;     // EventID bits the ITS takes
  unsigned device_bits = 0;
  bool pta = false;            // RDbase is a physical address
  uint64_t device_page = 0;    // device table page size
  uint64_t device_entry_bytes = 0;
  bool device_two_level = false;
  uint32_t device_ids = 0;     // DeviceIDs the table covers
  uint64_t device_table = 0;   // physical (level 1 when two-level)
  uint32_t device_table_pages = 0;
  uint64_t collection_table = 0;  // 0: collections held in the ITS
  uint64_t collection_table_bytes = 0;
  uint32_t collection_ids = 0;
  uint64_t command_queue = 0;
  uint32_t command_entries = 0;
  bool tables_coherent = true;     // the ITS's accesses to its tables and queue snoop the CPU's caches
  unsigned lpi_id_bits = 0;
  uint64_t property_table = 0;
  bool properties_coherent = true;  // the redistributors' accesses to the LPI tables snoop
};

class Driver {
 public:
  constexpr Driver(Registers& its, TableMemory& memory, Clock& clock) : its_(&its), memory_(&memory), clock_(&clock) {}

  // Probe, tables, command queue, ITS enabled, the LPI configuration table. Logs the
  // report line or the error naming what is wrong.
  Status bring_up(const Config& config);
  bool ready() const { return up_ && !failed_; }
  bool failed() const { return failed_; }
  const Layout& layout() const { return layout_; }

  // CPU `cpu`'s redistributor (its RD_base frame, and its physical address for an ITS
  // that wants addresses): its pending table, the shared configuration table,
  // EnableLPIs; then collection `cpu` mapped to it (MAPC, INVALL, SYNC). Once per CPU,
  // from any CPU. Refused when firmware left its LPIs on (their tables are unknown).
  Status enable_redistributor(unsigned cpu, Registers& redistributor, uint64_t redistributor_physical);
  bool collection_ready(unsigned cpu) const { return cpu < max_collections && collections_[cpu].mapped; }

  // DeviceID gets an ITT for `event_count` events (rounded up to a power of two, at
  // least 2): MAPD, SYNC. A device already mapped is refused.
  Status map_device(uint32_t device_id, uint32_t event_count);
  // MAPD invalid, SYNC, its ITT given back. Its events must have been unmapped.
  Status unmap_device(uint32_t device_id);
  uint32_t device_events(uint32_t device_id) const;  // 0: not mapped

  // `count` contiguous LPIs, configured enabled at the configured priority (the tables
  // are made visible before any event can raise them). exhausted when none is left.
  Status reserve_lpis(uint32_t count, uint32_t& first);
  // Disabled again and free for reuse; their events must have been unmapped.
  void release_lpis(uint32_t first, uint32_t count);
  uint32_t lpis_free() const { return lpi_count_ - lpis_used_; }

  // The event raises `lpi` on CPU `cpu`: MAPTI, INV, SYNC.
  Status map_event(uint32_t device_id, uint32_t event_id, uint32_t lpi, unsigned cpu);
  // Its LPI moves to CPU `to_cpu` (pending state included): MOVI, SYNC both CPUs.
  Status move_event(uint32_t device_id, uint32_t event_id, unsigned from_cpu, unsigned to_cpu);
  // The translation is removed and the LPI's pending state cleared: DISCARD, SYNC.
  Status unmap_event(uint32_t device_id, uint32_t event_id, unsigned cpu);

  uint64_t memory_used() const { return memory_->used_bytes(); }
  uint64_t commands_issued() const { return queue_.commands_issued(); }

 private:
  struct Device {
    bool used = false;
    uint32_t id = 0;
    unsigned event_bits = 0;
    uint64_t itt = 0;
    uint64_t itt_bytes = 0;
  };
  struct Collection {
    bool lpis_on = false;
    bool mapped = false;
    uint64_t rdbase = 0;  // as commands encode it
    uint64_t pending_table = 0;
  };
  struct TableChoice {
    unsigned index = 0;
    uint64_t entry_bytes = 0;
    uint64_t page_code = 0;
    uint64_t page = 0;
  };

  Status probe(const Config& config);
  Status quiesce();
  Status setup_tables(const Config& config);
  bool choose_page(unsigned index, uint64_t value, TableChoice& choice);
  Status setup_device_table(const Config& config, const TableChoice& choice);
  Status setup_collection_table(const Config& config, const TableChoice& choice);
  bool write_baser(unsigned index, uint64_t value, uint64_t& written);
  Status setup_command_queue(const Config& config);
  Status setup_properties(const Config& config);
  bool device_table_entry(uint32_t device_id, bool& added_level2, uint64_t& level2);
  Status run(const Command* commands, size_t count, const char* what);
  Status fail(Status status, const char* what);
  Device* find_device(uint32_t device_id);
  bool lpi_used(uint32_t index) const { return ((lpi_map_[index / 64] >> (index % 64)) & 1) != 0; }
  void mark_lpis(uint32_t index, uint32_t count, bool used);
  void configure_lpis(uint32_t first, uint32_t count, bool enabled);
  Status check_event(const char* what, uint32_t device_id, uint32_t event_id, unsigned cpu);

  Registers* its_;
  TableMemory* memory_;
  Clock* clock_;
  Config config_;
  Layout layout_;
  CommandQueue queue_;
  Collection collections_[max_collections];
  Device devices_[max_devices];
  uint32_t lpi_count_ = 0;
  uint32_t lpis_used_ = 0;
  uint64_t lpi_map_[(max_lpis + 63) / 64] = {};
  bool up_ = false;
  bool failed_ = false;
};

}  // namespace bulkhead::its
