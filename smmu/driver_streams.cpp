// DMA contexts and the streams that point at them.
#include "core/lib/log.hpp"
#include "core/lib/runtime.hpp"
#include "smmu/driver.hpp"

namespace bulkhead::smmu {
namespace {

constexpr MapAttributes ram_attributes{MemoryType::normal_write_back, true, false};

bool fits_bits(uint64_t last_address, unsigned bits) { return bits >= 64 || (last_address >> bits) == 0; }

}  // namespace

ContextId Driver::create_context(const ContextConfig& config) {
  if (!ready()) {
    log::error("smmu-v3 {}: no DMA context for partition {}: the SMMU is not enabled", path_, config.name);
    return no_context;
  }
  ContextId id = no_context;
  for (size_t i = 0; i < max_contexts; ++i) {
    if (!contexts_[i].used && id == no_context) id = static_cast<ContextId>(i);
    if (contexts_[i].used && contexts_[i].tag == config.tag) {
      log::error("smmu-v3 {}: partition {}: tag {} is already partition {}'s", path_, config.name, config.tag,
                 contexts_[i].name);
      return no_context;
    }
  }
  const unsigned tag_limit = (choice_.stage == Stage::two ? features_.vmid16 : features_.asid16) ? 0xffff : 0xff;
  const char* tag_name = choice_.stage == Stage::two ? "vmid" : "asid";
  if (id == no_context) {
    log::error("smmu-v3 {}: partition {}: all {} DMA contexts are in use", path_, config.name, max_contexts);
  } else if (config.tag == 0 || config.tag > tag_limit) {
    log::error("smmu-v3 {}: partition {}: {} {} is outside 1..{}", path_, config.name, tag_name, config.tag, tag_limit);
  } else if (config.size == 0 || ((config.guest_base | config.host_base | config.size) & (PageTable::page_size - 1)) != 0) {
    log::error("smmu-v3 {}: partition {}: RAM guest {} host {} size {} is not whole pages", path_, config.name,
               hex(config.guest_base), hex(config.host_base), hex(config.size));
  } else if (!fits_bits(config.guest_base + config.size - 1, dma_address_bits) ||
             !fits_bits(config.host_base + config.size - 1, features_.output_address_bits)) {
    log::error("smmu-v3 {}: partition {}: RAM guest {} host {} size {} is beyond the {}-bit DMA or {}-bit output addresses",
               path_, config.name, hex(config.guest_base), hex(config.host_base), hex(config.size), dma_address_bits,
               features_.output_address_bits);
  } else {
    Context& c = contexts_[id];
    pages_.low = pages_.high = 0;
    PageTable table(pages_, regime());
    if (!table.initialise()) {
      log::error("smmu-v3 {}: partition {}: no memory for DMA page tables", path_, config.name);
      return no_context;
    }
    const MapResult mapped = table.map(config.guest_base, config.host_base, config.size, ram_attributes);
    if (mapped != MapResult::ok) {
      log::error("smmu-v3 {}: partition {}: DMA page tables: {}", path_, config.name, map_result_name(mapped));
      return no_context;
    }
    c.tables_low = pages_.low;
    c.tables_high = pages_.high;
    hw_.memory->publish(c.tables_low, c.tables_high - c.tables_low, hw_.coherent);
    c.table_root = table.root();
    if (choice_.stage == Stage::two) {
      c.ste = stage2_ste({config.tag, stage2_vtcr(), c.table_root, features_.attr_types_override, features_.stall});
    } else {
      c.cd = hw_.memory->allocate(cd::bytes);
      if (c.cd == 0) {
        log::error("smmu-v3 {}: partition {}: no memory for a context descriptor", path_, config.name);
        return no_context;
      }
      const unsigned output_bits = features_.output_address_bits < 48 ? features_.output_address_bits : 48;
      const CdWords descriptor = context_descriptor(
          {config.tag, c.table_root, dma_address_bits, address_size_encoding(output_bits), mair_value, features_.stall});
      rt::copy(hw_.memory->pointer(c.cd), &descriptor, cd::bytes);
      hw_.memory->publish(c.cd, cd::bytes, hw_.coherent);
      c.ste = stage1_ste({c.cd, features_.stall});
    }
    c.name = config.name;
    c.tag = config.tag;
    c.used = true;
    log::fact("smmu-v3-context {} stage {} {} {} ram {} size {} host {}", config.name, static_cast<unsigned>(choice_.stage),
              tag_name, config.tag, hex(config.guest_base), hex(config.size), hex(config.host_base));
    return id;
  }
  return no_context;
}

bool Driver::map_into(Context& c, uint64_t iova, uint64_t physical, uint64_t size, MapAttributes attributes) {
  pages_.low = c.tables_low;
  pages_.high = c.tables_high;
  PageTable table(pages_, regime(), c.table_root);
  const MapResult mapped = table.map(iova, physical, size, attributes);
  c.tables_low = pages_.low;
  c.tables_high = pages_.high;
  hw_.memory->publish(c.tables_low, c.tables_high - c.tables_low, hw_.coherent);
  if (mapped != MapResult::ok) {
    log::error("smmu-v3 {}: partition {}: cannot map iova {} to {}: {}", path_, c.name, hex(iova), hex(physical),
               map_result_name(mapped));
    return false;
  }
  return true;
}

bool Driver::map_extra_page(ContextId context, uint64_t iova, uint64_t physical, MemoryType type) {
  if (!ready() || context >= max_contexts || !contexts_[context].used) {
    log::error("smmu-v3 {}: no extra page at iova {}: no such DMA context or the SMMU is not enabled", path_, hex(iova));
    return false;
  }
  Context& c = contexts_[context];
  if (!fits_bits(iova + PageTable::page_size - 1, dma_address_bits)) {
    log::error("smmu-v3 {}: partition {}: iova {} is beyond the {}-bit DMA addresses", path_, c.name, hex(iova),
               dma_address_bits);
    return false;
  }
  if (!map_into(c, iova, physical, PageTable::page_size, {type, true, false})) return false;
  const Command invalidate = choice_.stage == Stage::two ? tlbi_s12_vmall(c.tag) : tlbi_nh_asid(c.tag);
  if (!issue(&invalidate, 1, "mapping an extra page") || !sync("mapping an extra page")) return false;
  log::fact("smmu-v3-context {} extra-page iova {} physical {}", c.name, hex(iova), hex(physical));
  return true;
}

// A translating STE gets its other words first and dword 0 (V, Config) last; an aborting
// one gets dword 0 first: a fetch in between never sees a half-written translation.
void Driver::write_ste(uint32_t stream_id, const SteWords& ste) {
  uint64_t physical = 0;
  SteWords* entry = table_.entry(*hw_.memory, stream_id, &physical);
  const bool translating = !decode_ste(ste).aborts();
  if (!translating) {
    entry->word[0] = ste.word[0];
    hw_.memory->publish(physical, sizeof(uint64_t), hw_.coherent);
  }
  for (size_t i = 1; i < ste::words; ++i) entry->word[i] = ste.word[i];
  hw_.memory->publish(physical, ste::bytes, hw_.coherent);
  if (translating) {
    entry->word[0] = ste.word[0];
    hw_.memory->publish(physical, sizeof(uint64_t), hw_.coherent);
  }
}

Driver::Attachment* Driver::find_attachment(uint32_t stream_id) {
  for (size_t i = 0; i < attached_count_; ++i) {
    if (attached_[i].stream_id == stream_id) return &attached_[i];
  }
  return nullptr;
}

const Driver::Attachment* Driver::find_attachment(uint32_t stream_id) const {
  for (size_t i = 0; i < attached_count_; ++i) {
    if (attached_[i].stream_id == stream_id) return &attached_[i];
  }
  return nullptr;
}

bool Driver::check_attachable(ContextId context, uint32_t stream_id, bool& already) {
  already = false;
  if (!ready() || context >= max_contexts || !contexts_[context].used) {
    log::error("smmu-v3 {}: cannot attach StreamID {}: no such DMA context or the SMMU is not enabled", path_,
               hex(stream_id));
    return false;
  }
  const Context& c = contexts_[context];
  if (!table_.covers(stream_id)) {
    log::error("smmu-v3 {}: partition {}: StreamID {} is beyond the stream table's {} bits", path_, c.name,
               hex(stream_id), table_.sid_bits());
    return false;
  }
  if (const Attachment* a = find_attachment(stream_id)) {
    if (a->context == context) {
      already = true;
      return true;
    }
    log::error("smmu-v3 {}: partition {}: StreamID {} is already attached to partition {} (function {})", path_, c.name,
               hex(stream_id), contexts_[a->context].name, a->label);
    return false;
  }
  if (attached_count_ == max_attached_streams) {
    log::error("smmu-v3 {}: partition {}: StreamID {}: all {} stream slots are in use", path_, c.name, hex(stream_id),
               max_attached_streams);
    return false;
  }
  return true;
}

// The level-2 tables a list of streams needs, made before any STE is written (their
// STEs are invalid: the streams still abort). `added`: some level-1 descriptor changed.
bool Driver::make_level2_tables(const Context& c, const FunctionStreams* functions, size_t count, bool& added) {
  added = false;
  size_t f = 0;
  bool made = true;
  for (; made && f < count; ++f) {
    for (size_t s = 0; made && s < functions[f].count && s < 2; ++s) {
      bool fresh = false;
      made = table_.populate(*hw_.memory, hw_.coherent, functions[f].stream_ids[s], fresh);
      added = added || fresh;
      if (!made) {
        log::error("smmu-v3 {}: partition {}: no memory for the level-2 stream table of StreamID {}", path_, c.name,
                   hex(functions[f].stream_ids[s]));
      }
    }
  }
  if (made) return true;
  if (added) {
    // The descriptors added so far stay; the SMMU is told of them (leaf 0), as of any
    // change to its tables, so that a later attach on those buses is seen.
    for (size_t g = 0; g < f; ++g) {
      for (size_t t = 0; t < functions[g].count && t < 2; ++t) {
        const Command invalidate = cfgi_ste(functions[g].stream_ids[t], false);
        issue(&invalidate, 1, "announcing level-2 stream tables");
      }
    }
    sync("announcing level-2 stream tables");
  }
  return false;
}

bool Driver::attach(ContextId context, uint32_t stream_id, const char* function_label) {
  FunctionStreams function;
  function.label = function_label;
  function.stream_ids[0] = stream_id;
  function.count = 1;
  return attach_functions(context, &function, 1);
}

bool Driver::attach_functions(ContextId context, const FunctionStreams* functions, size_t count) {
  // Everything is checked before anything is written.
  size_t fresh = 0;
  for (size_t f = 0; f < count; ++f) {
    for (size_t s = 0; s < functions[f].count && s < 2; ++s) {
      bool already = false;
      if (!check_attachable(context, functions[f].stream_ids[s], already)) return false;
      if (!already) ++fresh;
    }
  }
  if (attached_count_ + fresh > max_attached_streams) {
    log::error("smmu-v3 {}: partition {}: {} more streams do not fit the {} stream slots", path_, contexts_[context].name,
               fresh, max_attached_streams);
    return false;
  }
  const Context& c = contexts_[context];
  bool table_added = false;
  if (!make_level2_tables(c, functions, count, table_added)) return false;
  const size_t first_new = attached_count_;
  for (size_t f = 0; f < count; ++f) {
    for (size_t s = 0; s < functions[f].count && s < 2; ++s) {
      const uint32_t sid = functions[f].stream_ids[s];
      if (find_attachment(sid) != nullptr) continue;  // already this context's (or listed twice)
      write_ste(sid, c.ste);
      // Leaf 0 when a level-1 descriptor changed: the SMMU may hold the old one.
      const Command invalidate = cfgi_ste(sid, !table_added);
      if (!issue(&invalidate, 1, "attaching a stream")) return false;
      Attachment& a = attached_[attached_count_++];
      a.stream_id = sid;
      a.context = context;
      rt::copy_string(a.label, sizeof(a.label), functions[f].label);
    }
  }
  if (!sync("attaching streams")) return false;
  for (size_t i = first_new; i < attached_count_; ++i) {
    log::fact("smmu-v3-stream {} partition {} function {} stage {} {} {}", hex(attached_[i].stream_id), c.name,
              attached_[i].label, static_cast<unsigned>(choice_.stage), choice_.stage == Stage::two ? "vmid" : "asid",
              c.tag);
  }
  return true;
}

bool Driver::detach(uint32_t stream_id) {
  Attachment* a = find_attachment(stream_id);
  if (a == nullptr) return ready();  // not attached: it aborts already
  const Context& c = contexts_[a->context];
  log::fact("smmu-v3-stream {} detached partition {} function {}", hex(stream_id), c.name, a->label);
  write_ste(stream_id, invalid_ste());
  for (Attachment* next = a + 1; next < attached_ + attached_count_; ++next) next[-1] = *next;
  --attached_count_;
  const Command invalidate = cfgi_ste(stream_id);
  return issue(&invalidate, 1, "detaching a stream") && sync("detaching a stream");
}

bool Driver::detach_context(ContextId context) {
  if (context >= max_contexts || !contexts_[context].used) return false;
  const Context& c = contexts_[context];
  bool issued = true;
  size_t kept = 0;  // the others' attachments keep their order
  for (size_t i = 0; i < attached_count_; ++i) {
    if (attached_[i].context != context) {
      attached_[kept++] = attached_[i];
      continue;
    }
    const uint32_t sid = attached_[i].stream_id;
    log::fact("smmu-v3-stream {} detached partition {} function {}", hex(sid), c.name, attached_[i].label);
    write_ste(sid, invalid_ste());
    const Command invalidate = cfgi_ste(sid);
    issued = issued && issue(&invalidate, 1, "detaching a partition's streams");
  }
  attached_count_ = kept;
  const Command tlbi = choice_.stage == Stage::two ? tlbi_s12_vmall(c.tag) : tlbi_nh_asid(c.tag);
  return issued && issue(&tlbi, 1, "invalidating a partition's DMA translations") &&
         sync("detaching a partition's streams");
}

StreamOwner Driver::owner_of(uint32_t stream_id) const {
  StreamOwner owner;
  if (const Attachment* a = find_attachment(stream_id)) {
    owner.owned = true;
    owner.partition = a->context;
    owner.partition_name = contexts_[a->context].name;
    owner.function = a->label;
  }
  return owner;
}

StreamTable::Lookup Driver::lookup(uint32_t stream_id, SteView& view) const {
  return table_.lookup(*hw_.memory, stream_id, view);
}

}  // namespace bulkhead::smmu
