#include "partitions/package.hpp"

#include "core/lib/crc32.hpp"
#include "core/lib/runtime.hpp"
#include "partitions/rule_names.hpp"
#include "partitions/rules.hpp"

namespace bulkhead::partitions {
namespace {

constexpr size_t crc_field_offset = 20;

uint64_t load_le(const uint8_t* bytes, size_t count) {
  uint64_t value = 0;
  for (size_t i = count; i > 0; --i) value = value << 8 | bytes[i - 1];
  return value;
}

void store_le(uint8_t* bytes, uint64_t value, size_t count) {
  for (size_t i = 0; i < count; ++i) bytes[i] = static_cast<uint8_t>(value >> (8 * i));
}

uint64_t align_up(uint64_t value) { return (value + package_alignment - 1) & ~(package_alignment - 1); }

template <typename... Args>
bool fail(PackageError& error, FormatString<std::type_identity_t<Args>...> message, Args... args) {
  FixedBuffer<sizeof(error.message)> text;
  format<Args...>(text, message, args...);
  rt::copy_string(error.message, sizeof(error.message), text.c_str());
  return false;
}

// Header and table CRC, with the CRC field taken as zero.
uint32_t header_crc(const uint8_t* base, size_t table_end) {
  const uint8_t zeros[4] = {};
  uint32_t crc = crc32(base, crc_field_offset);
  crc = crc32(zeros, sizeof(zeros), crc);
  return crc32(base + package_header_size, table_end - package_header_size, crc);
}

// "entry 2 (kernel of partition 0)"
struct EntryName {
  char text[64] = {};
};
EntryName entry_name(size_t index, const PackageEntry& entry) {
  FixedBuffer<sizeof(EntryName::text)> text;
  if (entry.kind == EntryKind::description) {
    format(text, "entry {} (description)", index);
  } else {
    format(text, "entry {} ({} of partition {})", index, entry_kind_name(entry.kind), entry.partition_index);
  }
  EntryName name;
  rt::copy_string(name.text, sizeof(name.text), text.c_str());
  return name;
}

bool read_entries(const uint8_t* base, Package& package, size_t table_end, PackageError& error) {
  uint64_t previous_end = table_end;
  for (size_t i = 0; i < package.entry_count; ++i) {
    const uint8_t* raw = base + package_header_size + i * package_entry_size;
    const uint32_t kind = static_cast<uint32_t>(load_le(raw, 4));
    PackageEntry& entry = package.entries[i];
    entry.partition_index = static_cast<uint32_t>(load_le(raw + 4, 4));
    entry.offset = load_le(raw + 8, 8);
    entry.size = load_le(raw + 16, 8);
    entry.crc32 = static_cast<uint32_t>(load_le(raw + 24, 4));
    if (kind < 1 || kind > 3) return fail(error, "entry {}: unknown kind {}", i, kind);
    entry.kind = static_cast<EntryKind>(kind);
    if (load_le(raw + 28, 4) != 0) return fail(error, "entry {}: reserved field is not zero", i);
    if ((i == 0) != (entry.kind == EntryKind::description)) {
      return fail(error, "entry {}: the description must be entry 0 and only it", i);
    }
    const bool description = entry.kind == EntryKind::description;
    if (description != (entry.partition_index == no_partition) ||
        (!description && entry.partition_index >= max_partitions)) {
      return fail(error, "entry {}: partition index {} is invalid for its kind", i, entry.partition_index);
    }
    if (entry.offset % package_alignment != 0) {
      return fail(error, "entry {}: offset {} is not 4 KiB aligned", i, hex(entry.offset));
    }
    if (entry.offset < previous_end || entry.size > package.total_size ||
        entry.offset > package.total_size - entry.size) {
      return fail(error, "entry {}: offset {} size {} overlaps the previous data or leaves the package ({} bytes)", i,
                  hex(entry.offset), hex(entry.size), hex(package.total_size));
    }
    for (size_t j = 1; j < i; ++j) {
      if (package.entries[j].kind == entry.kind && package.entries[j].partition_index == entry.partition_index) {
        return fail(error, "entry {}: a second {} for partition {}", i, entry_kind_name(entry.kind),
                    entry.partition_index);
      }
    }
    previous_end = entry.offset + entry.size;
  }
  return true;
}

}  // namespace

const char* entry_kind_name(EntryKind kind) {
  switch (kind) {
    case EntryKind::description:
      return "description";
    case EntryKind::kernel:
      return "kernel";
    case EntryKind::initrd:
      return "initrd";
  }
  return "unknown";
}

bool open_package(const void* data, size_t size, Package& package, PackageError& error) {
  rt::fill(&package, 0, sizeof(package));
  error.message[0] = '\0';
  const auto* base = static_cast<const uint8_t*>(data);
  if (base == nullptr) return fail(error, "no package (null address)");
  if (reinterpret_cast<uintptr_t>(base) % 8 != 0) return fail(error, "package address is not 8-byte aligned");
  if (size < package_header_size)
    return fail(error, "{} bytes, fewer than the {}-byte header", size, package_header_size);
  if (rt::compare(base, package_magic, sizeof(package_magic)) != 0) return fail(error, "bad magic (not a package)");
  const uint32_t version = static_cast<uint32_t>(load_le(base + 8, 4));
  if (version != package_version) return fail(error, "version {} is not supported ({})", version, package_version);
  const uint32_t count = static_cast<uint32_t>(load_le(base + 12, 4));
  package.total_size = static_cast<uint32_t>(load_le(base + 16, 4));
  if (count < 1 || count > max_package_entries) {
    return fail(error, "{} entries, expected 1 to {}", count, max_package_entries);
  }
  const size_t table_end = package_header_size + count * package_entry_size;
  if (package.total_size > size) {
    return fail(error, "total_size {} exceeds the {} bytes available", hex(package.total_size), hex(size));
  }
  if (package.total_size < table_end)
    return fail(error, "total_size {} is smaller than its entry table", hex(package.total_size));
  const uint32_t recorded = static_cast<uint32_t>(load_le(base + crc_field_offset, 4));
  const uint32_t computed = header_crc(base, table_end);
  if (recorded != computed) {
    return fail(error, "header crc32 {} does not match the recorded {}: header or entry table corrupt",
                hex(computed, 8), hex(recorded, 8));
  }
  package.base = base;
  package.entry_count = count;
  if (!read_entries(base, package, table_end, error) || !verify_entry(package, 0, error)) {
    package.entry_count = 0;
    return false;
  }
  return true;
}

bool verify_entry(const Package& package, size_t index, PackageError& error) {
  if (index >= package.entry_count)
    return fail(error, "entry {} does not exist ({} entries)", index, package.entry_count);
  const PackageEntry& entry = package.entries[index];
  const uint32_t computed = crc32(package.entry_data(index), entry.size);
  if (computed == entry.crc32) return true;
  return fail(error, "{}: crc32 {} does not match the recorded {}: data corrupt", entry_name(index, entry).text,
              hex(computed, 8), hex(entry.crc32, 8));
}

bool read_normalized_description(const void* blob, size_t size, SystemDescription& description,
                                 Violations& violations) {
  return read_description(blob, size, DescriptionForm::normalized, description, violations);
}

bool read_package_description(const Package& package, SystemDescription& description, Violations& violations) {
  const size_t before = violations.count();
  if (package.entry_count == 0 ||
      !read_normalized_description(package.entry_data(0), package.entries[0].size, description, violations)) {
    return false;
  }
  bool referenced[max_package_entries] = {true};
  for (size_t i = 0; i < description.partition_count; ++i) {
    Payload& payload = description.partitions[i].payload;
    const DescriptionPath path = partition_child_path(description.partitions[i], "payload");
    const auto check = [&](uint32_t index, EntryKind kind, uint64_t& size) {
      if (index >= package.entry_count || package.entries[index].kind != kind ||
          package.entries[index].partition_index != i || referenced[index]) {
        violations.add(path.text, rule::package_entry, "{}-entry {} is not this partition's {} in the package",
                       kind == EntryKind::kernel ? "payload" : "initrd", index, entry_kind_name(kind));
        payload.resolved = false;
        return;
      }
      referenced[index] = true;
      size = package.entries[index].size;
    };
    check(payload.kernel_entry, EntryKind::kernel, payload.file_size);
    if (payload.has_initrd) check(payload.initrd_entry, EntryKind::initrd, payload.initrd_size);
    if (payload.resolved && payload.load_size < payload.file_size) {
      violations.add(path.text, rule::package_entry, "load-size {} is smaller than its entry ({} bytes)",
                     hex(payload.load_size), hex(payload.file_size));
    }
  }
  for (size_t i = 1; i < package.entry_count; ++i) {
    if (!referenced[i]) violations.add("/", rule::package_entry, "entry {} belongs to no payload", i);
  }
  check_consistency(description, violations);
  return violations.count() == before;
}

size_t assign_package_entries(SystemDescription& description) {
  uint32_t next = 1;
  for (size_t i = 0; i < description.partition_count; ++i) {
    Payload& payload = description.partitions[i].payload;
    payload.kernel_entry = next++;
    payload.initrd_entry = payload.has_initrd ? next++ : no_entry;
  }
  return next;
}

size_t package_inputs(const SystemDescription& description, const void* normalized, size_t normalized_size,
                      PackageInput* inputs) {
  size_t count = 0;
  inputs[count++] = {EntryKind::description, no_partition, normalized, normalized_size};
  for (size_t i = 0; i < description.partition_count; ++i) {
    const Payload& payload = description.partitions[i].payload;
    const auto index = static_cast<uint32_t>(i);
    inputs[count++] = {EntryKind::kernel, index, nullptr, payload.file_size};
    if (payload.has_initrd) inputs[count++] = {EntryKind::initrd, index, nullptr, payload.initrd_size};
  }
  return count;
}

uint64_t package_size(const PackageInput* inputs, size_t count) {
  uint64_t end = package_header_size + count * package_entry_size;
  for (size_t i = 0; i < count; ++i) {
    if (inputs[i].size > UINT32_MAX) return 0;
    end = align_up(end) + inputs[i].size;
    if (end > UINT32_MAX) return 0;
  }
  return end;
}

bool write_package(const PackageInput* inputs, size_t count, void* out, size_t capacity, PackageError& error) {
  if (count < 1 || count > max_package_entries)
    return fail(error, "{} entries, expected 1 to {}", count, max_package_entries);
  const uint64_t total = package_size(inputs, count);
  if (total == 0) return fail(error, "the package would exceed 4 GiB");
  if (total > capacity) return fail(error, "needs {} bytes, the buffer has {}", total, capacity);
  auto* base = static_cast<uint8_t*>(out);
  rt::fill(base, 0, static_cast<size_t>(total));
  rt::copy(base, package_magic, sizeof(package_magic));
  store_le(base + 8, package_version, 4);
  store_le(base + 12, count, 4);
  store_le(base + 16, total, 4);
  uint64_t offset = package_header_size + count * package_entry_size;
  for (size_t i = 0; i < count; ++i) {
    const PackageInput& input = inputs[i];
    offset = align_up(offset);
    uint8_t* raw = base + package_header_size + i * package_entry_size;
    store_le(raw, static_cast<uint32_t>(input.kind), 4);
    store_le(raw + 4, input.partition_index, 4);
    store_le(raw + 8, offset, 8);
    store_le(raw + 16, input.size, 8);
    store_le(raw + 24, crc32(input.data, static_cast<size_t>(input.size)), 4);
    if (input.size != 0) rt::copy(base + offset, input.data, static_cast<size_t>(input.size));
    offset += input.size;
  }
  store_le(base + crc_field_offset, header_crc(base, package_header_size + count * package_entry_size), 4);
  return true;
}

}  // namespace bulkhead::partitions
