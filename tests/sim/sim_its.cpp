// The simulated ITS (sim_its.hpp). Its decoding is written from the architecture
// (IHI 0069) with literal bit positions, independently of core/its's encoders, so a
// wrong field in the driver shows up as a wrong outcome here.
#include "tests/sim/sim_its.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace bulkhead::sim {
namespace {

constexpr uint64_t bits(unsigned high, unsigned low) {
  return (high == 63 ? ~0ull : (1ull << (high + 1)) - 1) & ~((1ull << low) - 1);
}
constexpr uint64_t field(uint64_t value, unsigned high, unsigned low) { return (value & bits(high, low)) >> low; }
std::string hex_text(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

// GITS register offsets.
constexpr uint32_t CTLR = 0x0, IIDR = 0x4, TYPER = 0x8, CBASER = 0x80, CWRITER = 0x88, CREADR = 0x90, BASER = 0x100;
// GICR RD_base offsets.
constexpr uint32_t GICR_CTLR = 0x0, GICR_TYPER = 0x8, GICR_PROPBASER = 0x70, GICR_PENDBASER = 0x78;
constexpr uint64_t BASER_RO = bits(52, 48) | bits(58, 56);  // entry size, type
constexpr uint64_t VALID = 1ull << 63;
constexpr uint32_t FIRST_LPI = 8192;
constexpr uint64_t ITE_BYTES = 12;
constexpr uint64_t page_bytes(uint64_t code) { return code == 0 ? 0x1000 : code == 1 ? 0x4000 : 0x10000; }

}  // namespace

// ---- Memory.

SimItsMemory::SimItsMemory(uint64_t size, uint64_t physical_base) : base_(physical_base), size_(size) {
  cpu_ = static_cast<uint8_t*>(std::calloc(size, 1));
  device_ = static_cast<uint8_t*>(std::malloc(size));
  std::memset(device_, 0xa5, size);  // what a non-coherent device sees until the CPU cleans its writes
  attach(physical_base, cpu_, size);
}

SimItsMemory::~SimItsMemory() {
  std::free(cpu_);
  std::free(device_);
}

void SimItsMemory::publish(uint64_t physical, uint64_t bytes, bool coherent) {
  ++publishes_;
  if (physical < base_ || bytes > size_ || physical - base_ > size_ - bytes) {
    throw std::runtime_error("publish outside the pool: " + hex_text(physical));
  }
  // The target cleans the cache only when told the device does not snoop; so does this model.
  if (!coherent) std::memcpy(device_ + (physical - base_), cpu_ + (physical - base_), bytes);
}

bool SimItsMemory::device_read(uint64_t physical, void* out, uint64_t bytes) const {
  if (physical < base_ || bytes > size_ || physical - base_ > size_ - bytes) return false;
  std::memcpy(out, (device_coherent_ ? cpu_ : device_) + (physical - base_), bytes);
  return true;
}

bool SimItsMemory::device_write(uint64_t physical, const void* data, uint64_t bytes) {
  if (physical < base_ || bytes > size_ || physical - base_ > size_ - bytes) return false;
  std::memcpy((device_coherent_ ? cpu_ : device_) + (physical - base_), data, bytes);
  return true;
}

uint64_t SimItsMemory::read64(uint64_t physical) const {
  uint64_t value = 0;
  device_read(physical, &value, 8);
  return value;
}

// ---- Presets.

SimItsConfig SimItsConfig::qemu_7_2() {
  SimItsConfig config;
  config.typer = 1ull | (11ull << 4) | (15ull << 8) | (15ull << 13) | (15ull << 32) | (1ull << 36);
  return config;
}

// ---- Redistributors.

SimRedistributor::SimRedistributor(SimIts& its, unsigned index) : its_(its), index_(index) {}

uint64_t SimRedistributor::physical() const { return its_.config_.redistributor_base + uint64_t{index_} * 0x20000; }

uint32_t SimRedistributor::read32(uint32_t offset) {
  if (offset == GICR_CTLR) return ctlr_;
  return static_cast<uint32_t>(read64(offset & ~7u) >> (offset % 8 == 0 ? 0 : 32));
}

void SimRedistributor::write32(uint32_t offset, uint32_t value) {
  if (offset != GICR_CTLR) throw std::runtime_error("32-bit write to GICR offset " + hex_text(offset));
  if (plpis && enable_sticks && (value & 1) != 0) ctlr_ |= 1;
  if ((value & 1) == 0) ctlr_ &= ~1u;
}

uint64_t SimRedistributor::read64(uint32_t offset) {
  switch (offset) {
    case GICR_TYPER: {
      const bool last = index_ + 1 == its_.config_.cpus;
      return (plpis ? 1ull : 0) | (last ? 1ull << 4 : 0) | uint64_t{index_} << 8 | uint64_t{index_} << 32;
    }
    case GICR_PROPBASER: return propbaser_;
    case GICR_PENDBASER: return pendbaser_ & ~(1ull << 62);  // PTZ reads as zero
    default: throw std::runtime_error("64-bit read of GICR offset " + hex_text(offset));
  }
}

void SimRedistributor::write64(uint32_t offset, uint64_t value) {
  if (offset != GICR_PROPBASER && offset != GICR_PENDBASER) {
    throw std::runtime_error("64-bit write to GICR offset " + hex_text(offset));
  }
  if (lpis_enabled()) return;  // fixed while LPIs are on
  if (!its_.config_.coherent) value &= ~bits(11, 10);
  (offset == GICR_PROPBASER ? propbaser_ : pendbaser_) = value;
}

// ---- The ITS.

SimIts::SimIts(SimItsMemory& memory, SimItsConfig config) : memory_(memory), config_(config) {
  for (unsigned i = 0; i < config.cpus; ++i) redistributors_.emplace_back(*this, i);
  // Reset: devices and collections, 8-byte entries, 64 KiB pages.
  const uint64_t page_code = uint64_t{config.reset_page_code} << 8;
  baser_[0] = (1ull << 56) | (7ull << 48) | page_code;
  if (config.collection_table) baser_[1] = (4ull << 56) | (7ull << 48) | page_code;
  memory_.set_device_coherent(config.coherent);
}

uint32_t SimIts::read32(uint32_t offset) {
  switch (offset) {
    case CTLR: return quiescent_stuck ? ctlr_ & 1 : ctlr_;
    case IIDR: return 0x0100043b;
    default: return static_cast<uint32_t>(read64(offset & ~7u) >> (offset % 8 == 0 ? 0 : 32));
  }
}

void SimIts::write32(uint32_t offset, uint32_t value) {
  if (offset != CTLR) throw std::runtime_error("32-bit write to GITS offset " + hex_text(offset));
  const bool was = (ctlr_ & 1) != 0;
  ctlr_ = (ctlr_ & ~1u) | (value & 1);
  if (!was && (value & 1) != 0) enable();
}

uint64_t SimIts::read64(uint32_t offset) {
  if (offset == TYPER) return config_.typer | uint64_t{config_.hcc} << 24;
  if (offset == CBASER) return cbaser_;
  if (offset == CWRITER) return cwriter_;
  if (offset == CREADR) return creadr_;
  if (offset >= BASER && offset < BASER + 0x40 && offset % 8 == 0) return baser_[(offset - BASER) / 8];
  throw std::runtime_error("64-bit read of GITS offset " + hex_text(offset));
}

void SimIts::write64(uint32_t offset, uint64_t value) {
  const bool enabled = (ctlr_ & 1) != 0;
  if (offset >= BASER && offset < BASER + 0x40 && offset % 8 == 0) {
    uint64_t& reg = baser_[(offset - BASER) / 8];
    if (enabled || field(reg, 58, 56) == 0) return;  // RO while enabled; unimplemented
    uint64_t next = (value & ~BASER_RO) | (reg & BASER_RO);
    const uint64_t code = field(value, 9, 8);
    const bool accepted = (code == 0 && config_.accepts_4k) || (code == 1 && config_.accepts_16k) ||
                          (code == 2 && config_.accepts_64k);
    if (!accepted) next = (next & ~bits(9, 8)) | (reg & bits(9, 8));
    if (!config_.indirect) next &= ~(1ull << 62);
    if (!config_.coherent) next &= ~bits(11, 10);
    reg = next;
    return;
  }
  switch (offset) {
    case CBASER:
      if (enabled) return;
      cbaser_ = config_.coherent ? value : value & ~bits(11, 10);
      creadr_ = 0;
      return;
    case CWRITER:
      cwriter_ = value & bits(19, 5);
      if (enabled) process();
      return;
    default: throw std::runtime_error("64-bit write to GITS offset " + hex_text(offset));
  }
}

void SimIts::enable() {
  devices_ = collections_ = Table{};
  for (uint64_t value : baser_) {
    const uint64_t type = field(value, 58, 56);
    if ((value & VALID) == 0 || (type != 1 && type != 4)) continue;
    Table& table = type == 1 ? devices_ : collections_;
    table.valid = true;
    table.indirect = (value & (1ull << 62)) != 0;
    table.page = page_bytes(field(value, 9, 8));
    table.entry = field(value, 52, 48) + 1;
    table.pages = field(value, 7, 0) + 1;
    table.base = table.page == 0x10000 ? (value & bits(47, 16)) | field(value, 15, 12) << 48 : value & bits(47, 12);
    table.entries = table.indirect ? table.pages * table.page / 8 * (table.page / table.entry)
                                   : table.pages * table.page / table.entry;
    const unsigned id_bits = type == 1 ? static_cast<unsigned>(field(config_.typer, 17, 13)) + 1
                                       : static_cast<unsigned>(field(config_.typer, 35, 32)) + 1;
    if (table.entries > (1ull << id_bits)) table.entries = 1ull << id_bits;
  }
  queue_base_ = cbaser_ & bits(51, 12);
  queue_entries_ = (cbaser_ & VALID) != 0 ? (field(cbaser_, 7, 0) + 1) * 0x1000 / 32 : 0;
  process();
}

void SimIts::process() {
  if (command_mode == ItsCommandMode::stuck || queue_entries_ == 0 || (creadr_ & 1) != 0) return;
  while (field(creadr_, 19, 5) != field(cwriter_, 19, 5)) {
    const uint64_t index = field(creadr_, 19, 5);
    if (index >= queue_entries_) return;
    uint64_t command[4] = {};
    if (!memory_.device_read(queue_base_ + index * 32, command, 32)) {
      creadr_ |= 1;
      return;
    }
    if (stalling_opcodes.count(static_cast<uint8_t>(command[0] & 0xff)) != 0 || !execute(command)) {
      operations.push_back("stalled at " + hex_text(command[0] & 0xff));
      creadr_ |= 1;
      return;
    }
    ++executed_;
    creadr_ = ((index + 1) % queue_entries_) << 5;
  }
}

uint64_t SimIts::entry_address(const Table& table, uint64_t id) const {
  if (!table.valid || id >= table.entries) return 0;
  if (!table.indirect) return table.base + id * table.entry;
  const uint64_t per_page = table.page / table.entry;
  const uint64_t level1 = memory_.read64(table.base + id / per_page * 8);
  if ((level1 & VALID) == 0) return 0;
  return (level1 & bits(51, 12)) + id % per_page * table.entry;
}

SimRedistributor* SimIts::redistributor_for(uint64_t rdbase) {
  const bool pta = (config_.typer & (1ull << 19)) != 0;
  for (SimRedistributor& rd : redistributors_) {
    if (pta ? rd.physical() >> 16 == rdbase : rd.index() == rdbase) return &rd;
  }
  return nullptr;
}

SimRedistributor* SimIts::collection_target(uint16_t icid, std::string& why) {
  const uint64_t address = entry_address(collections_, icid);
  if (address == 0) {
    why = "no collection table entry for ICID " + std::to_string(icid);
    return nullptr;
  }
  const uint64_t cte = memory_.read64(address);
  if ((cte & 1) == 0) {
    why = "collection " + std::to_string(icid) + " is not mapped";
    return nullptr;
  }
  SimRedistributor* rd = redistributor_for(cte >> 1);
  if (rd == nullptr) why = "collection " + std::to_string(icid) + " names no redistributor";
  return rd;
}

bool SimIts::translate(uint32_t device_id, uint32_t event_id, uint32_t& lpi, uint16_t& icid, std::string& why) const {
  const uint64_t dte_address = entry_address(devices_, device_id);
  if (dte_address == 0) {
    why = "no device table entry for DeviceID " + hex_text(device_id);
    return false;
  }
  const uint64_t dte = memory_.read64(dte_address);
  if ((dte & 1) == 0) {
    why = "DeviceID " + hex_text(device_id) + " is not mapped";
    return false;
  }
  if (event_id >= (1ull << (field(dte, 5, 1) + 1))) {
    why = "EventID " + std::to_string(event_id) + " is beyond the ITT";
    return false;
  }
  const uint64_t ite = memory_.read64((dte & bits(51, 8)) + uint64_t{event_id} * ITE_BYTES);
  if ((ite & 1) == 0) {
    why = "EventID " + std::to_string(event_id) + " of DeviceID " + hex_text(device_id) + " is not mapped";
    return false;
  }
  lpi = static_cast<uint32_t>(field(ite, 25, 1));
  icid = static_cast<uint16_t>(field(ite, 47, 32));
  return true;
}

unsigned SimIts::lpi_bits(const SimRedistributor& rd) const {
  const unsigned bits_from_table = static_cast<unsigned>(field(rd.propbaser_, 4, 0)) + 1;
  return bits_from_table < 16 ? bits_from_table : 16;
}

uint8_t SimIts::lpi_config(const SimRedistributor& rd, uint32_t lpi) const {
  uint8_t config = 0;
  memory_.device_read((rd.propbaser_ & bits(51, 12)) + (lpi - FIRST_LPI), &config, 1);
  return config;
}

bool SimIts::set_pending(SimRedistributor& rd, uint32_t lpi, bool pending, std::string& why) {
  if (!rd.lpis_enabled()) {
    why = "CPU " + std::to_string(rd.index()) + " has LPIs off";
    return false;
  }
  if (lpi < FIRST_LPI || lpi >= (1u << lpi_bits(rd))) {
    why = "LPI " + std::to_string(lpi) + " is beyond GICR_PROPBASER.IDbits";
    return false;
  }
  const uint64_t address = (rd.pendbaser_ & bits(51, 16)) + lpi / 8;
  uint8_t byte = 0;
  if (!memory_.device_read(address, &byte, 1)) {
    why = "the pending table is outside memory";
    return false;
  }
  byte = pending ? static_cast<uint8_t>(byte | 1u << (lpi % 8)) : static_cast<uint8_t>(byte & ~(1u << (lpi % 8)));
  memory_.device_write(address, &byte, 1);
  return true;
}

bool SimIts::pending(unsigned cpu, uint32_t lpi) const {
  const SimRedistributor& rd = redistributors_.at(cpu);
  uint8_t byte = 0;
  memory_.device_read((rd.pendbaser_ & bits(51, 16)) + lpi / 8, &byte, 1);
  return ((byte >> (lpi % 8)) & 1) != 0;
}

ItsDelivery SimIts::inject(uint32_t device_id, uint32_t event_id) {
  ItsDelivery delivery;
  if ((ctlr_ & 1) == 0) {
    delivery.dropped = "the ITS is disabled";
    return delivery;
  }
  uint32_t lpi = 0;
  uint16_t icid = 0;
  if (!translate(device_id, event_id, lpi, icid, delivery.dropped)) return delivery;
  SimRedistributor* rd = collection_target(icid, delivery.dropped);
  if (rd == nullptr || !set_pending(*rd, lpi, true, delivery.dropped)) return delivery;
  delivery.pending = true;
  delivery.cpu = rd->index();
  delivery.lpi = lpi;
  return delivery;
}

uint32_t SimIts::take(unsigned cpu) {
  SimRedistributor& rd = redistributors_.at(cpu);
  if (!rd.lpis_enabled()) return 1023;
  uint32_t best = 1023;
  unsigned best_priority = 0x100;
  for (uint32_t lpi = FIRST_LPI; lpi < (1u << lpi_bits(rd)); ++lpi) {
    if (!pending(cpu, lpi)) continue;
    const uint8_t config = lpi_config(rd, lpi);
    if ((config & 1) == 0 || (config & 0xfc) >= best_priority) continue;
    best = lpi;
    best_priority = config & 0xfc;
  }
  std::string why;
  if (best != 1023) set_pending(rd, best, false, why);
  return best;
}

bool SimIts::execute(const uint64_t (&c)[4]) {
  const auto opcode = static_cast<uint8_t>(c[0] & 0xff);
  const auto device_id = static_cast<uint32_t>(c[0] >> 32);
  const auto event_id = static_cast<uint32_t>(c[1]);
  const auto icid = static_cast<uint16_t>(c[2]);
  std::string why;
  const auto ignored = [&](const std::string& what, const std::string& reason) {
    operations.push_back(what + " ignored: " + reason);
    return true;  // QEMU ignores a command with bad parameters and goes on
  };
  const auto name = [&](const char* text) {
    return std::string(text) + " device " + hex_text(device_id) + " event " + std::to_string(event_id);
  };
  switch (opcode) {
    case 0x08: {  // MAPD
      const uint64_t size = field(c[1], 4, 0);
      const bool valid = (c[2] & VALID) != 0;
      const std::string what = "MAPD device " + hex_text(device_id) + " bits " + std::to_string(size + 1) + " itt " +
                               hex_text(c[2] & bits(51, 8)) + " valid " + std::to_string(valid ? 1 : 0);
      if (size > field(config_.typer, 12, 8)) return ignored(what, "size beyond GITS_TYPER.IDbits");
      const uint64_t address = entry_address(devices_, device_id);
      if (address == 0) return ignored(what, "no device table entry");
      const uint64_t dte = valid ? 1 | size << 1 | (c[2] & bits(51, 8)) : 0;
      operations.push_back(what);
      return memory_.device_write(address, &dte, 8);
    }
    case 0x09: {  // MAPC
      const bool valid = (c[2] & VALID) != 0;
      const uint64_t rdbase = field(c[2], 51, 16);
      const std::string what = "MAPC icid " + std::to_string(icid) + " rdbase " + hex_text(rdbase) + " valid " +
                               std::to_string(valid ? 1 : 0);
      if (valid && redistributor_for(rdbase) == nullptr) return ignored(what, "RDbase names no redistributor");
      const uint64_t address = entry_address(collections_, icid);
      if (address == 0) return ignored(what, "ICID beyond the collection table");
      const uint64_t cte = valid ? 1 | rdbase << 1 : 0;
      operations.push_back(what);
      return memory_.device_write(address, &cte, 8);
    }
    case 0x0a:    // MAPTI
    case 0x0b: {  // MAPI
      const uint32_t lpi = opcode == 0x0a ? static_cast<uint32_t>(c[1] >> 32) : event_id;
      const std::string what =
          name(opcode == 0x0a ? "MAPTI" : "MAPI") + " lpi " + std::to_string(lpi) + " icid " + std::to_string(icid);
      const uint64_t dte_address = entry_address(devices_, device_id);
      const uint64_t dte = dte_address == 0 ? 0 : memory_.read64(dte_address);
      if ((dte & 1) == 0) return ignored(what, "device not mapped");
      if (event_id >= (1ull << (field(dte, 5, 1) + 1))) return ignored(what, "event beyond the ITT");
      if (entry_address(collections_, icid) == 0) return ignored(what, "ICID beyond the collection table");
      if (lpi < FIRST_LPI || lpi >= 65536) return ignored(what, "not an LPI");
      const uint64_t ite = 1 | uint64_t{lpi} << 1 | uint64_t{icid} << 32;
      operations.push_back(what);
      return memory_.device_write((dte & bits(51, 8)) + uint64_t{event_id} * ITE_BYTES, &ite, 8);
    }
    case 0x01: {  // MOVI
      const std::string what = name("MOVI") + " icid " + std::to_string(icid);
      uint32_t lpi = 0;
      uint16_t old_icid = 0;
      if (!translate(device_id, event_id, lpi, old_icid, why)) return ignored(what, why);
      SimRedistributor* from = collection_target(old_icid, why);
      SimRedistributor* to = from == nullptr ? nullptr : collection_target(icid, why);
      if (to == nullptr) return ignored(what, why);
      if (from != to && pending(from->index(), lpi)) {
        set_pending(*from, lpi, false, why);
        set_pending(*to, lpi, true, why);
      }
      const uint64_t dte = memory_.read64(entry_address(devices_, device_id));
      const uint64_t ite = 1 | uint64_t{lpi} << 1 | uint64_t{icid} << 32;
      operations.push_back(what);
      return memory_.device_write((dte & bits(51, 8)) + uint64_t{event_id} * ITE_BYTES, &ite, 8);
    }
    case 0x0f:    // DISCARD
    case 0x04:    // CLEAR
    case 0x03: {  // INT
      const std::string what = name(opcode == 0x0f ? "DISCARD" : opcode == 0x04 ? "CLEAR" : "INT");
      uint32_t lpi = 0;
      uint16_t lpi_icid = 0;
      if (!translate(device_id, event_id, lpi, lpi_icid, why)) return ignored(what, why);
      SimRedistributor* rd = collection_target(lpi_icid, why);
      if (rd == nullptr) return ignored(what, why);
      set_pending(*rd, lpi, opcode == 0x03, why);
      operations.push_back(what);
      if (opcode != 0x0f) return true;
      const uint64_t dte = memory_.read64(entry_address(devices_, device_id));
      const uint64_t ite = 0;
      return memory_.device_write((dte & bits(51, 8)) + uint64_t{event_id} * ITE_BYTES, &ite, 8);
    }
    case 0x0c: operations.push_back(name("INV")); return true;
    case 0x0d: operations.push_back("INVALL icid " + std::to_string(icid)); return true;
    case 0x05: {
      const uint64_t rdbase = field(c[2], 51, 16);
      if (redistributor_for(rdbase) == nullptr) return ignored("SYNC " + hex_text(rdbase), "names no redistributor");
      operations.push_back("SYNC rdbase " + hex_text(rdbase));
      return true;
    }
    default: operations.push_back("unknown command " + hex_text(opcode)); return true;
  }
}

}  // namespace bulkhead::sim
