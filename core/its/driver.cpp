// Bring-up and tables of the ITS driver; the translations are in driver_events.cpp.
#include "core/its/driver.hpp"

#include "core/lib/log.hpp"
#include "core/lib/runtime.hpp"

namespace bulkhead::its {
namespace {

constexpr unsigned min_lpi_id_bits = 14;  // 2^14 > 8192: at least one LPI
constexpr uint64_t page_codes[] = {baser::page_4k, baser::page_16k, baser::page_64k};

uint64_t divide_up(uint64_t value, uint64_t by) { return (value + by - 1) / by; }

// Normal write-back memory, inner shareable: what a coherent ITS gets. A non-coherent
// one (the shareability reads back as none) gets non-cacheable, non-shareable instead.
template <typename Shareability, typename InnerCache>
uint64_t attributes(uint64_t value, bool coherent) {
  value = Shareability::replace(value, coherent ? shareable::inner : shareable::none);
  return InnerCache::replace(value, coherent ? cache::read_write_allocate_write_back : cache::non_cacheable);
}

const char* yes_no(bool value) { return value ? "yes" : "no"; }

}  // namespace

const char* status_name(Status status) {
  switch (status) {
    case Status::ok: return "ok";
    case Status::refused: return "refused";
    case Status::stuck: return "stuck";
    case Status::out_of_memory: return "out-of-memory";
    case Status::exhausted: return "exhausted";
    case Status::bad_request: return "bad-request";
    case Status::not_ready: return "not-ready";
  }
  return "unknown";
}

Status Driver::fail(Status status, const char* what) {
  log::error("gic-v3-its {}: {}", config_.path, what);
  return status;
}

Status Driver::bring_up(const Config& config) {
  up_ = false;
  failed_ = false;
  config_ = config;
  layout_ = Layout{};
  for (size_t i = 0; i < max_collections; ++i) collections_[i] = Collection{};
  for (size_t i = 0; i < max_devices; ++i) devices_[i] = Device{};
  lpi_count_ = 0;
  lpis_used_ = 0;
  rt::fill(lpi_map_, 0, sizeof(lpi_map_));
  if (config.cpu_count == 0 || config.cpu_count > max_collections) {
    log::error("gic-v3-its {}: {} CPUs; 1 to {} supported", config.path, config.cpu_count, max_collections);
    return Status::bad_request;
  }
  const uint64_t memory_before = memory_->used_bytes();
  Status status = probe(config);
  if (status == Status::ok) status = quiesce();
  if (status == Status::ok) status = setup_tables(config);
  if (status == Status::ok) status = setup_command_queue(config);
  if (status == Status::ok) status = setup_properties(config);
  if (status != Status::ok) {
    // Nothing kept: the ITS stays off with no table registered.
    for (unsigned i = 0; i < reg::baser_count; ++i) {
      const uint64_t value = its_->read64(reg::baser(i));
      if (baser::type::get(value) != baser::type_none) its_->write64(reg::baser(i), value & ~baser::valid::mask);
    }
    its_->write64(reg::cbaser, 0);
    if (layout_.device_table != 0) {
      memory_->release(layout_.device_table, uint64_t{layout_.device_table_pages} * layout_.device_page);
    }
    if (layout_.collection_table != 0) memory_->release(layout_.collection_table, layout_.collection_table_bytes);
    if (layout_.command_queue != 0) {
      memory_->release(layout_.command_queue, uint64_t{layout_.command_entries} * command::bytes);
    }
    if (status == Status::stuck) failed_ = true;
    return status;
  }
  its_->write32(reg::ctlr, static_cast<uint32_t>(ctlr::enabled::put(1)));
  if (ctlr::enabled::get(its_->read32(reg::ctlr)) == 0) {
    return fail(Status::refused, "GITS_CTLR.Enabled does not stick; the ITS stays off");
  }
  up_ = true;
  log::fact(
      "gic-v3-its {} devices {} ids {} page {} collections {} event-bits {} itt-entry {} lpis {}-{} cmdq {} memory {} "
      "coherent {}",
      config.path, layout_.device_two_level ? "2-level" : "flat", layout_.device_ids, hex(layout_.device_page),
      config.cpu_count, layout_.event_bits, layout_.itt_entry_bytes, hex(first_lpi), hex(first_lpi + lpi_count_ - 1),
      layout_.command_entries, hex(memory_->used_bytes() - memory_before), yes_no(layout_.tables_coherent));
  return Status::ok;
}

Status Driver::probe(const Config& config) {
  const uint64_t value = its_->read64(reg::typer);
  if (typer::physical::get(value) == 0) {
    return fail(Status::refused, "GITS_TYPER.Physical is 0: it cannot translate to physical LPIs");
  }
  layout_.itt_entry_bytes = static_cast<uint32_t>(typer::itt_entry_size::get(value)) + 1;
  layout_.event_bits = static_cast<unsigned>(typer::id_bits::get(value)) + 1;
  layout_.device_bits = static_cast<unsigned>(typer::dev_bits::get(value)) + 1;
  layout_.pta = typer::pta::get(value) != 0;
  const unsigned collection_bits = typer::cil::get(value) != 0 ? static_cast<unsigned>(typer::cid_bits::get(value)) + 1 : 16;
  if ((uint64_t{1} << collection_bits) < config.cpu_count) {
    log::error("gic-v3-its {}: GITS_TYPER.CIDbits allows {} collections, {} CPUs need one each", config.path,
               uint64_t{1} << collection_bits, config.cpu_count);
    return Status::refused;
  }
  unsigned bits = config.lpi_id_bits;
  if (bits > config.interrupt_id_bits) bits = config.interrupt_id_bits;
  if (bits > max_lpi_id_bits) bits = max_lpi_id_bits;
  if (bits < min_lpi_id_bits) {
    log::error("gic-v3-its {}: {} interrupt ID bits leave no LPI (at least {} needed)", config.path, bits,
               min_lpi_id_bits);
    return Status::refused;
  }
  layout_.lpi_id_bits = bits;
  if (config.command_queue_pages == 0 || config.command_queue_pages > cbaser::max_pages) {
    log::error("gic-v3-its {}: a command queue of {} pages; 1 to {} possible", config.path,
               config.command_queue_pages, cbaser::max_pages);
    return Status::bad_request;
  }
  return Status::ok;
}

// Firmware may have left the ITS on: it must be off and quiescent before its tables change.
Status Driver::quiesce() {
  const uint32_t control = its_->read32(reg::ctlr);
  if (ctlr::enabled::get(control) != 0) its_->write32(reg::ctlr, static_cast<uint32_t>(control & ~ctlr::enabled::mask));
  const uint64_t started = clock_->now_us();
  while (ctlr::quiescent::get(its_->read32(reg::ctlr)) == 0) {
    if (clock_->now_us() - started > config_.timeout_us) {
      return fail(Status::stuck, "GITS_CTLR.Quiescent did not come within the bound after disabling it");
    }
    clock_->relax();
  }
  return Status::ok;
}

Status Driver::setup_tables(const Config& config) {
  bool devices = false;
  bool collections = false;
  for (unsigned i = 0; i < reg::baser_count; ++i) {
    const uint64_t value = its_->read64(reg::baser(i));
    const uint64_t type = baser::type::get(value);
    if (type != baser::type_devices && type != baser::type_collections) {
      if (type != baser::type_none) its_->write64(reg::baser(i), value & ~baser::valid::mask);  // vPEs: not used
      continue;
    }
    TableChoice choice;
    if (!choose_page(i, value, choice)) {
      log::error("gic-v3-its {}: GITS_BASER{} takes none of the 4, 16 and 64 KiB page sizes", config.path, i);
      return Status::refused;
    }
    const Status status =
        type == baser::type_devices ? setup_device_table(config, choice) : setup_collection_table(config, choice);
    if (status != Status::ok) return status;
    (type == baser::type_devices ? devices : collections) = true;
  }
  if (!devices) return fail(Status::refused, "no GITS_BASER describes a device table");
  if (!collections) {
    const uint64_t held = typer::hcc::get(its_->read64(reg::typer));
    if (held < config.cpu_count) {
      log::error("gic-v3-its {}: no GITS_BASER for collections and GITS_TYPER.HCC holds only {}", config.path, held);
      return Status::refused;
    }
  }
  return Status::ok;
}

// The smallest page size the register keeps (smaller pages waste less of the pool).
bool Driver::choose_page(unsigned index, uint64_t value, TableChoice& choice) {
  choice.index = index;
  choice.entry_bytes = baser::entry_size::get(value) + 1;
  for (uint64_t code : page_codes) {
    its_->write64(reg::baser(index), baser::page_size::replace(value & ~baser::valid::mask, code));
    if (baser::page_size::get(its_->read64(reg::baser(index))) != code) continue;
    choice.page_code = code;
    choice.page = baser::page_bytes(code);
    return true;
  }
  return false;
}

// Writes a table register with the attributes of a coherent ITS; when the shareability
// reads back as none, the ITS does not snoop: non-cacheable, and every table write is
// cleaned to the point of coherency from then on.
bool Driver::write_baser(unsigned index, uint64_t value, uint64_t& written) {
  value = attributes<baser::shareability, baser::inner_cache>(value, layout_.tables_coherent);
  its_->write64(reg::baser(index), value);
  written = its_->read64(reg::baser(index));
  if (baser::shareability::get(written) == shareable::none && layout_.tables_coherent) {
    layout_.tables_coherent = false;
    value = attributes<baser::shareability, baser::inner_cache>(value, false);
    its_->write64(reg::baser(index), value);
    written = its_->read64(reg::baser(index));
  }
  const uint64_t must_keep = baser::valid::mask | baser::indirect::mask | baser::page_size::mask |
                             baser::address_low::mask | baser::size::mask;
  return (written & must_keep) == (value & must_keep);
}

Status Driver::setup_device_table(const Config& config, const TableChoice& choice) {
  const uint64_t ids_possible = uint64_t{1} << layout_.device_bits;
  const uint64_t per_page = choice.page / choice.entry_bytes;
  uint64_t ids = ids_possible;
  uint64_t pages = 1;
  bool two_level = false;
  if (ids_possible * choice.entry_bytes > choice.page) {
    const uint64_t indirect = baser::indirect::put(1) | baser::page_size::put(choice.page_code);
    its_->write64(reg::baser(choice.index), indirect);
    two_level = baser::indirect::get(its_->read64(reg::baser(choice.index))) != 0;
    if (two_level) {
      pages = divide_up(divide_up(ids_possible, per_page) * baser::level1_entry_bytes, choice.page);
      if (pages > baser::max_pages) pages = baser::max_pages;
      ids = pages * choice.page / baser::level1_entry_bytes * per_page;
    } else {
      ids = config.device_id_limit < ids_possible ? config.device_id_limit : ids_possible;
      pages = divide_up(ids * choice.entry_bytes, choice.page);
      if (pages > baser::max_pages) pages = baser::max_pages;
      if (pages * per_page < ids) ids = pages * per_page;
    }
  }
  if (ids > ids_possible) ids = ids_possible;
  const uint64_t bytes = pages * choice.page;
  const uint64_t table = memory_->allocate(bytes, choice.page);
  if (table == 0) {
    log::error("gic-v3-its {}: no table memory for the device table ({} bytes)", config.path, hex(bytes));
    return Status::out_of_memory;
  }
  memory_->publish(table, bytes, false);
  layout_.device_page = choice.page;
  layout_.device_entry_bytes = choice.entry_bytes;
  layout_.device_two_level = two_level;
  layout_.device_ids = static_cast<uint32_t>(ids > UINT32_MAX ? UINT32_MAX : ids);
  layout_.device_table = table;
  layout_.device_table_pages = static_cast<uint32_t>(pages);
  const uint64_t value = baser::valid::put(1) | baser::indirect::put(two_level ? 1 : 0) |
                         baser::page_size::put(choice.page_code) | baser::encode_address(table, choice.page_code) |
                         baser::size::put(pages - 1);
  uint64_t written = 0;
  if (!write_baser(choice.index, value, written)) {
    log::error("gic-v3-its {}: GITS_BASER{} does not keep the device table ({} read back)", config.path,
               choice.index, hex(written));
    return Status::refused;
  }
  return Status::ok;
}

Status Driver::setup_collection_table(const Config& config, const TableChoice& choice) {
  const uint64_t pages = divide_up(config.cpu_count * choice.entry_bytes, choice.page);
  const uint64_t table = memory_->allocate(pages * choice.page, choice.page);
  if (table == 0) {
    log::error("gic-v3-its {}: no table memory for the collection table ({} bytes)", config.path,
               hex(pages * choice.page));
    return Status::out_of_memory;
  }
  memory_->publish(table, pages * choice.page, false);
  layout_.collection_table = table;
  layout_.collection_table_bytes = pages * choice.page;
  layout_.collection_ids = static_cast<uint32_t>(pages * choice.page / choice.entry_bytes);
  const uint64_t value = baser::valid::put(1) | baser::page_size::put(choice.page_code) |
                         baser::encode_address(table, choice.page_code) | baser::size::put(pages - 1);
  uint64_t written = 0;
  if (!write_baser(choice.index, value, written)) {
    memory_->release(table, pages * choice.page);
    layout_.collection_table = 0;
    log::error("gic-v3-its {}: GITS_BASER{} does not keep the collection table ({} read back)", config.path,
               choice.index, hex(written));
    return Status::refused;
  }
  return Status::ok;
}

Status Driver::setup_command_queue(const Config& config) {
  const uint64_t bytes = uint64_t{config.command_queue_pages} * cbaser::page;
  const uint64_t queue = memory_->allocate(bytes, cbaser::page);
  if (queue == 0) {
    log::error("gic-v3-its {}: no table memory for the command queue ({} bytes)", config.path, hex(bytes));
    return Status::out_of_memory;
  }
  memory_->publish(queue, bytes, false);
  layout_.command_queue = queue;
  layout_.command_entries = static_cast<uint32_t>(bytes / command::bytes);
  uint64_t value = cbaser::valid::put(1) | (queue & cbaser::address::mask) | cbaser::size::put(config.command_queue_pages - 1);
  value = attributes<cbaser::shareability, cbaser::inner_cache>(value, layout_.tables_coherent);
  its_->write64(reg::cbaser, value);
  uint64_t written = its_->read64(reg::cbaser);
  if (cbaser::shareability::get(written) == shareable::none && layout_.tables_coherent) {
    layout_.tables_coherent = false;
    value = attributes<cbaser::shareability, cbaser::inner_cache>(value, false);
    its_->write64(reg::cbaser, value);
    written = its_->read64(reg::cbaser);
  }
  if (cbaser::valid::get(written) == 0 || cbaser::address::get(written) != queue) {
    return fail(Status::refused, "GITS_CBASER does not keep the command queue");
  }
  its_->write64(reg::cwriter, 0);
  queue_.attach(*its_, *memory_, *clock_, queue, layout_.command_entries, layout_.tables_coherent, config.timeout_us);
  return Status::ok;
}

// One configuration table for every redistributor: a byte per LPI, all disabled.
Status Driver::setup_properties(const Config& config) {
  lpi_count_ = (uint32_t{1} << layout_.lpi_id_bits) - first_lpi;
  const uint64_t table = memory_->allocate(lpi_count_, gicr::property_table_alignment);
  if (table == 0) {
    log::error("gic-v3-its {}: no table memory for the LPI configuration table ({} bytes)", config.path,
               hex(lpi_count_));
    lpi_count_ = 0;
    return Status::out_of_memory;
  }
  memory_->publish(table, lpi_count_, false);
  layout_.property_table = table;
  return Status::ok;
}

Status Driver::enable_redistributor(unsigned cpu, Registers& redistributor, uint64_t redistributor_physical) {
  if (!ready()) return Status::not_ready;
  if (cpu >= config_.cpu_count) {
    log::error("gic-v3-its {}: CPU {} has no collection ({} CPUs)", config_.path, cpu, config_.cpu_count);
    return Status::bad_request;
  }
  Collection& collection = collections_[cpu];
  if (collection.mapped) return Status::ok;
  const uint64_t type = redistributor.read64(gicr::typer);
  if (gicr::typer_bits::plpis::get(type) == 0) {
    log::error("gic-v3-its {}: CPU {}'s redistributor has no physical LPIs (GICR_TYPER.PLPIS 0)", config_.path, cpu);
    return Status::refused;
  }
  const uint32_t control = redistributor.read32(gicr::ctlr);
  if (!collection.lpis_on) {
    if (gicr::ctlr_bits::enable_lpis::get(control) != 0) {
      log::error("gic-v3-its {}: CPU {}'s redistributor has LPIs on already (firmware left them on with tables "
                 "we do not know)",
                 config_.path, cpu);
      return Status::refused;
    }
    const uint64_t pending_bytes = (uint64_t{1} << layout_.lpi_id_bits) / 8;
    const uint64_t pending = memory_->allocate(pending_bytes, gicr::pending_table_alignment);
    if (pending == 0) {
      log::error("gic-v3-its {}: no table memory for CPU {}'s LPI pending table ({} bytes)", config_.path, cpu,
                 hex(pending_bytes));
      return Status::out_of_memory;
    }
    memory_->publish(pending, pending_bytes, false);
    uint64_t properties = layout_.property_table | gicr::propbaser_bits::id_bits::put(layout_.lpi_id_bits - 1);
    properties = attributes<gicr::propbaser_bits::shareability, gicr::propbaser_bits::inner_cache>(
        properties, layout_.properties_coherent);
    redistributor.write64(gicr::propbaser, properties);
    if (gicr::propbaser_bits::shareability::get(redistributor.read64(gicr::propbaser)) == shareable::none) {
      // This redistributor does not snoop: every later configuration write is cleaned.
      layout_.properties_coherent = false;
      redistributor.write64(gicr::propbaser, attributes<gicr::propbaser_bits::shareability,
                                                        gicr::propbaser_bits::inner_cache>(properties, false));
      memory_->publish(layout_.property_table, lpi_count_, false);
    }
    uint64_t pending_value = pending | gicr::pendbaser_bits::ptz::put(1);
    pending_value = attributes<gicr::pendbaser_bits::shareability, gicr::pendbaser_bits::inner_cache>(
        pending_value, true);
    redistributor.write64(gicr::pendbaser, pending_value);
    if (gicr::pendbaser_bits::shareability::get(redistributor.read64(gicr::pendbaser)) == shareable::none) {
      redistributor.write64(gicr::pendbaser, attributes<gicr::pendbaser_bits::shareability,
                                                        gicr::pendbaser_bits::inner_cache>(pending_value, false));
    }
    if (gicr::propbaser_bits::address::get(redistributor.read64(gicr::propbaser)) != layout_.property_table ||
        gicr::pendbaser_bits::address::get(redistributor.read64(gicr::pendbaser)) != pending) {
      memory_->release(pending, pending_bytes);
      log::error("gic-v3-its {}: CPU {}'s redistributor does not keep GICR_PROPBASER/PENDBASER", config_.path, cpu);
      return Status::refused;
    }
    redistributor.write32(gicr::ctlr, static_cast<uint32_t>(control | gicr::ctlr_bits::enable_lpis::mask));
    if (gicr::ctlr_bits::enable_lpis::get(redistributor.read32(gicr::ctlr)) == 0) {
      memory_->release(pending, pending_bytes);
      log::error("gic-v3-its {}: CPU {}'s GICR_CTLR.EnableLPIs does not stick", config_.path, cpu);
      return Status::refused;
    }
    collection.lpis_on = true;
    collection.pending_table = pending;
  }
  collection.rdbase = layout_.pta ? redistributor_physical >> 16 : gicr::typer_bits::processor_number::get(type);
  const Command commands[] = {mapc(static_cast<uint16_t>(cpu), collection.rdbase, true),
                              invall(static_cast<uint16_t>(cpu)), sync(collection.rdbase)};
  const Status status = run(commands, 3, "MAPC");
  if (status == Status::ok) collection.mapped = true;
  return status;
}

Status Driver::run(const Command* commands, size_t count, const char* what) {
  if (!ready()) return Status::not_ready;
  size_t failed_index = 0;
  const QueueStatus status = queue_.submit(commands, count, failed_index);
  if (status == QueueStatus::ok) return Status::ok;
  failed_ = true;
  const DecodedCommand d = decode(commands[failed_index < count ? failed_index : 0]);
  log::error("gic-v3-its {}: {} ({} device {} event {} icid {}): the command queue is {}; the ITS is not used any more",
             config_.path, what, command_name(d.opcode), hex(d.device_id), d.event_id, d.icid,
             queue_status_name(status));
  return Status::stuck;
}

}  // namespace bulkhead::its
