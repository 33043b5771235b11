#include "partitions/description.hpp"

#include "core/lib/runtime.hpp"
#include "partitions/dt_reader.hpp"
#include "partitions/rule_names.hpp"

namespace bulkhead::partitions {
namespace {

constexpr uint32_t mpidr_affinity_0_to_2 = 0x00ffffff;

template <size_t N>
constexpr size_t count_of(const char* const (&)[N]) {
  return N;
}

constexpr const char* root_properties[] = {"compatible", "bulkhead,schema-version", "board", "bulkhead,checked-by"};
constexpr const char* hypervisor_properties[] = {"console", "reserved"};
constexpr const char* partition_properties[] = {
    "cpus",    "cpu-mpidrs",  "memory-size",    "memory-host-base", "memory-guest-base",
    "console", "legacy-intx", "restart-policy", "msi-spis"};
constexpr const char* payload_properties[] = {"format",   "file",      "load-offset",   "initrd",
                                              "bootargs", "load-size", "payload-entry", "initrd-entry"};
constexpr const char* pci_properties[] = {"sbdf", "vendor-device", "instance", "guest-slot", "reset"};
constexpr const char* platform_properties[] = {"device", "compatible", "mmio", "spi-interrupts"};
// Properties only the normalized form may carry (the source form reports them as unknown).
constexpr const char* normalized_only[] = {"bulkhead,checked-by", "reserved",   "load-size", "payload-entry",
                                           "initrd-entry",        "compatible", "mmio",      "spi-interrupts"};

bool same(const char* left, const char* right) { return rt::compare_strings(left, right) == 0; }

// Parses "SSSS:BB:DD.F" or "BB:DD.F" (hex digits, as lspci prints them).
bool parse_hex_field(const char*& at, size_t max_digits, uint32_t limit, uint32_t& value) {
  value = 0;
  size_t digits = 0;
  for (; digits < max_digits; ++digits, ++at) {
    const char c = *at;
    uint32_t digit = 0;
    if (c >= '0' && c <= '9')
      digit = static_cast<uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      digit = static_cast<uint32_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      digit = static_cast<uint32_t>(c - 'A' + 10);
    else
      break;
    value = value * 16 + digit;
  }
  return digits > 0 && value <= limit;
}

bool parse_sbdf(const char* text, pci::Sbdf& sbdf) {
  uint32_t fields[4] = {};
  const char* at = text;
  size_t colons = 0;
  for (const char* c = text; *c != '\0'; ++c) colons += *c == ':' ? 1 : 0;
  if (colons != 1 && colons != 2) return false;
  if (colons == 2 && (!parse_hex_field(at, 4, 0xffff, fields[0]) || *at++ != ':')) return false;
  if (!parse_hex_field(at, 2, 0xff, fields[1]) || *at++ != ':') return false;
  if (!parse_hex_field(at, 2, 0x1f, fields[2]) || *at++ != '.') return false;
  if (!parse_hex_field(at, 1, 7, fields[3]) || *at != '\0') return false;
  sbdf.segment = static_cast<uint16_t>(fields[0]);
  sbdf.bdf = {static_cast<uint8_t>(fields[1]), static_cast<uint8_t>(fields[2]), static_cast<uint8_t>(fields[3])};
  return true;
}

class DescriptionReader {
 public:
  DescriptionReader(const fdt::Index& index, DescriptionForm form, SystemDescription& description,
                    Violations& violations)
      : dt_(index, violations), form_(form), out_(description), violations_(violations) {}

  void read() {
    NodeText root;
    root.text[0] = '/';
    if (!read_identity(root)) return;
    dt_.check_properties(0, root, root_properties, count_of(root_properties) - (normalized() ? 0 : 1));
    if (dt_.string(0, root, "board", out_.board, max_board_name) == Found::absent) missing(root, "board");
    bool saw_partitions = false;
    for (int node = dt_.first_child(0); node >= 0; node = dt_.next_sibling(node)) {
      size_t length = 0;
      const char* name = dt_.name(node, length);
      const NodeText path = dt_.child_path(root, node);
      if (length == 10 && rt::compare(name, "hypervisor", 10) == 0) {
        read_hypervisor(node, path);
      } else if (length == 10 && rt::compare(name, "partitions", 10) == 0) {
        saw_partitions = true;
        read_partitions(node, path);
      } else {
        unknown_node(path);
      }
    }
    if (!saw_partitions) violations_.add("/", rule::required, "missing node partitions");
    if (normalized() && out_.hypervisor_reserved_count == 0) {
      violations_.add("/hypervisor", rule::required, "missing property reserved (normalized form)");
    }
  }

 private:
  bool normalized() const { return form_ == DescriptionForm::normalized; }

  void missing(const NodeText& path, const char* property) {
    violations_.add(path.text, rule::required, "missing property {}", property);
  }
  void missing_normalized(const NodeText& path, const char* property) {
    violations_.add(path.text, rule::required, "missing property {} (normalized form)", property);
  }
  void unknown_node(const NodeText& path) {
    violations_.add(path.text, rule::unknown_node, "not a node of the description schema");
  }
  // True when the node at `position` does not fit in a table of `capacity`; reported
  // once, at the first node that does not fit.
  bool over_capacity(const NodeText& path, size_t position, size_t capacity, FormatString<size_t> message) {
    if (position < capacity) return false;
    if (position == capacity) violations_.add<size_t>(path.text, rule::capacity, message, capacity);
    return true;
  }
  // Nodes whose schema has no children.
  void reject_children(int node, const NodeText& path) {
    for (int child = dt_.first_child(node); child >= 0; child = dt_.next_sibling(child)) { unknown_node(dt_.child_path(path, child)); }
  }

  // Properties of `known` that only the normalized form has are unknown in the source.
  void check_properties(int node, const NodeText& path, const char* const* known, size_t count) {
    if (normalized()) return dt_.check_properties(node, path, known, count);
    const char* source_known[16] = {};
    size_t source_count = 0;
    for (size_t i = 0; i < count; ++i) {
      bool only_normalized = false;
      for (const char* name : normalized_only) only_normalized = only_normalized || same(name, known[i]);
      if (!only_normalized) source_known[source_count++] = known[i];
    }
    dt_.check_properties(node, path, source_known, source_count);
  }

  // compatible, schema version and (normalized) producer: without them nothing else is
  // interpreted, since the blob may be something else entirely.
  bool read_identity(const NodeText& root) {
    if (!check_root_identity(dt_, violations_, root, description_compatible, "system description", schema_version)) {
      return false;
    }
    out_.form = form_;
    if (!normalized()) return true;
    char producer[32] = {};
    if (dt_.string(0, root, "bulkhead,checked-by", producer, sizeof(producer) - 1) != Found::ok ||
        !same(producer, checked_by_text)) {
      violations_.add(root.text, rule::checked_by, "bulkhead,checked-by is not \"{}\"; the description is unchecked",
                      checked_by_text);
      return false;
    }
    return true;
  }

  void read_hypervisor(int node, const NodeText& path) {
    check_properties(node, path, hypervisor_properties, count_of(hypervisor_properties));
    char console[16] = {};
    if (dt_.string(node, path, "console", console, sizeof(console) - 1) == Found::ok && !same(console, "uart")) {
      violations_.add(path.text, rule::property_value, "console: \"{}\" is not uart", shown(console).text);
    }
    if (normalized()) {
      dt_.ranges(node, path, "reserved", out_.hypervisor_reserved, max_reserved_regions,
                 out_.hypervisor_reserved_count);
    }
    reject_children(node, path);
  }

  void read_partitions(int node, const NodeText& path) {
    check_properties(node, path, nullptr, 0);
    size_t seen = 0;
    for (int child = dt_.first_child(node); child >= 0; child = dt_.next_sibling(child)) {
      const NodeText child_path = dt_.child_path(path, child);
      if (over_capacity(child_path, seen++, max_partitions,
                        "more than {} partitions; this and later ones are not read")) {
        continue;
      }
      read_partition(child, child_path, out_.partitions[out_.partition_count++]);
    }
  }

  void read_partition(int node, const NodeText& path, Partition& partition) {
    size_t length = 0;
    const char* name = dt_.name(node, length);
    if (!valid_simple_name(name, length, max_partition_name)) {
      violations_.add(path.text, rule::name_syntax, "partition name \"{}\" is not 1 to {} of a-z, 0-9 and -",
                      shown(name, length).text, max_partition_name);
    }
    rt::copy_string(partition.name, sizeof(partition.name), shown(name, length).text);
    for (size_t i = 0; i + 1 < out_.partition_count; ++i) {
      if (same(out_.partitions[i].name, partition.name)) {
        violations_.add(path.text, rule::name_unique, "another partition is also named {}", partition.name);
      }
    }
    check_properties(node, path, partition_properties, count_of(partition_properties));
    read_cpus(node, path, partition);
    read_ram(node, path, partition.ram);
    read_choice(node, path, "console", "virtual-uart", "none", partition.console, GuestConsole::virtual_uart,
                GuestConsole::none);
    read_choice(node, path, "legacy-intx", "denied", "allowed", partition.legacy_intx, false, true);
    read_choice(node, path, "restart-policy", "stop", "restart", partition.restart, RestartPolicy::stop,
                RestartPolicy::restart);
    read_msi_spis(node, path, partition.msi_spis);
    read_partition_children(node, path, partition);
  }

  // <first count>; the rules check the values. The tool writes every partition's range
  // into the normalized form; there, absent means the partition has none.
  void read_msi_spis(int node, const NodeText& path, MessageSpis& spis) {
    const void* cells = nullptr;
    size_t count = 0;
    const Found found = dt_.cells(node, path, "msi-spis", cells, count);
    if (found == Found::ok && count != 2) {
      violations_.add(path.text, rule::property_type, "msi-spis: expected <first count>, found {} cells", count);
    } else if (found == Found::ok) {
      spis.first = DtReader::cell(cells, 0);
      spis.count = DtReader::cell(cells, 1);
      spis.given = !normalized();
      spis.assigned = normalized();
    }
  }

  void read_cpus(int node, const NodeText& path, Partition& partition) {
    const void* indices = nullptr;
    const void* mpidrs = nullptr;
    size_t index_count = 0;
    size_t mpidr_count = 0;
    const Found by_index = dt_.cells(node, path, "cpus", indices, index_count);
    const Found by_mpidr = dt_.cells(node, path, "cpu-mpidrs", mpidrs, mpidr_count);
    if (by_index == Found::invalid || by_mpidr == Found::invalid) return;
    if (by_index == Found::absent && by_mpidr == Found::absent) {
      violations_.add(path.text, rule::required, "missing property cpus or cpu-mpidrs");
      return;
    }
    const bool both = by_index == Found::ok && by_mpidr == Found::ok;
    if (normalized() && (!both || index_count != mpidr_count)) {
      violations_.add(path.text, rule::cpu_selector, "cpus and cpu-mpidrs must both list every CPU (normalized form)");
      return;
    }
    if (!normalized() && both) {
      violations_.add(path.text, rule::cpu_selector, "give either cpus or cpu-mpidrs, not both");
      return;
    }
    const size_t count = by_index == Found::ok ? index_count : mpidr_count;
    const char* property = by_index == Found::ok ? "cpus" : "cpu-mpidrs";
    if (count == 0) {
      violations_.add(path.text, rule::cpu_selector, "{}: lists no CPU", property);
      return;
    }
    if (count > max_partition_cpus) {
      violations_.add(path.text, rule::capacity, "{}: {} CPUs, at most {} per partition", property, count,
                      max_partition_cpus);
      return;
    }
    bool valid = true;
    for (size_t i = 0; i < count; ++i) {
      PartitionCpu& cpu = partition.cpus[i];
      if (by_index == Found::ok) cpu.index = DtReader::cell(indices, i);
      if (by_mpidr == Found::ok) cpu.mpidr = DtReader::cell(mpidrs, i);
      if (by_mpidr == Found::ok && (cpu.mpidr & ~mpidr_affinity_0_to_2) != 0) {
        violations_.add(path.text, rule::property_value,
                        "cpu-mpidrs: {} has bits above Aff2 (only Aff2.Aff1.Aff0 can be given)", hex(cpu.mpidr));
        valid = false;
      }
    }
    if (!valid) return;
    partition.cpu_count = count;
    partition.cpu_selector = by_index == Found::ok ? CpuSelector::indices : CpuSelector::mpidrs;
    partition.cpus_resolved = normalized();
  }

  void read_ram(int node, const NodeText& path, PartitionRam& ram) {
    const Found size = dt_.u64(node, path, "memory-size", ram.size);
    if (size == Found::absent) missing(path, "memory-size");
    ram.size_known = size == Found::ok;
    const Found host = dt_.u64(node, path, "memory-host-base", ram.host_base);
    ram.host_base_fixed = host == Found::ok;
    if (normalized()) {
      if (host == Found::absent) missing_normalized(path, "memory-host-base");
      ram.placed = host == Found::ok;
    }
    const Found guest = dt_.u64(node, path, "memory-guest-base", ram.guest_base);
    if (guest != Found::ok) ram.guest_base = default_guest_ram_base;
    if (guest == Found::absent && normalized()) missing_normalized(path, "memory-guest-base");
  }

  // A string property with two allowed values; `first` is the default.
  template <typename T>
  void read_choice(int node, const NodeText& path, const char* property, const char* first, const char* second,
                   T& value, T first_value, T second_value) {
    char text[16] = {};
    value = first_value;
    const Found found = dt_.string(node, path, property, text, sizeof(text) - 1);
    if (found == Found::absent && normalized()) missing_normalized(path, property);
    if (found != Found::ok) return;
    if (same(text, first)) return;
    if (same(text, second)) {
      value = second_value;
      return;
    }
    violations_.add(path.text, rule::property_value, "{}: \"{}\" is not {} or {}", property, shown(text).text, first,
                    second);
  }

  void read_partition_children(int node, const NodeText& path, Partition& partition) {
    bool saw_payload = false;
    size_t pci_seen = 0;
    size_t platform_seen = 0;
    for (int child = dt_.first_child(node); child >= 0; child = dt_.next_sibling(child)) {
      size_t length = 0;
      const char* name = dt_.name(child, length);
      const NodeText child_path = dt_.child_path(path, child);
      if (length > max_node_name) {
        violations_.add(child_path.text, rule::name_syntax, "node name is longer than {} characters", max_node_name);
        continue;
      }
      if (length == 7 && rt::compare(name, "payload", 7) == 0) {
        saw_payload = true;
        read_payload(child, child_path, partition.payload);
      } else if (node_base_is(name, length, "pci-device")) {
        if (over_capacity(child_path, pci_seen++, max_pci_devices, "more than {} pci-device nodes in one partition")) {
          continue;
        }
        PciDeviceSelector& selector = partition.pci_devices[partition.pci_device_count++];
        rt::copy(selector.node, name, length);
        read_pci_device(child, child_path, selector);
      } else if (node_base_is(name, length, "platform-device")) {
        if (over_capacity(child_path, platform_seen++, max_platform_devices,
                          "more than {} platform-device nodes in one partition")) {
          continue;
        }
        PlatformDeviceRef& device = partition.platform_devices[partition.platform_device_count++];
        rt::copy(device.node, name, length);
        read_platform_device(child, child_path, device);
      } else {
        unknown_node(child_path);
      }
    }
    if (!saw_payload) violations_.add(path.text, rule::required, "missing node payload");
  }

  void read_payload(int node, const NodeText& path, Payload& payload) {
    payload.present = true;
    check_properties(node, path, payload_properties, count_of(payload_properties));
    char format_text[16] = {};
    const Found format_found = dt_.string(node, path, "format", format_text, sizeof(format_text) - 1);
    if (format_found == Found::absent) missing(path, "format");
    if (format_found == Found::ok) {
      if (same(format_text, "linux-image")) {
        payload.format = PayloadFormat::linux_image;
      } else if (same(format_text, "raw")) {
        payload.format = PayloadFormat::raw;
      } else {
        violations_.add(path.text, rule::payload_format, "format: \"{}\" is not linux-image or raw",
                        shown(format_text).text);
      }
    }
    read_file_name(node, path, "file", payload.file, true);
    payload.has_initrd = read_file_name(node, path, "initrd", payload.initrd, false);
    payload.has_load_offset = dt_.u64(node, path, "load-offset", payload.load_offset) == Found::ok;
    if (payload.has_load_offset && !normalized() && payload.format == PayloadFormat::linux_image) {
      violations_.add(path.text, rule::payload_format,
                      "load-offset applies to raw payloads only (a Linux Image's text_offset decides)");
    }
    dt_.string(node, path, "bootargs", payload.bootargs, max_guest_bootargs);
    if (!normalized()) return;
    uint32_t entry = 0;
    bool complete = payload.has_load_offset;
    if (!payload.has_load_offset) missing_normalized(path, "load-offset");
    const Found load_size = dt_.u64(node, path, "load-size", payload.load_size);
    if (load_size == Found::absent) missing_normalized(path, "load-size");
    complete = complete && load_size == Found::ok;
    const Found kernel = dt_.u32(node, path, "payload-entry", entry);
    if (kernel == Found::absent) missing_normalized(path, "payload-entry");
    payload.kernel_entry = kernel == Found::ok ? entry : no_entry;
    complete = complete && kernel == Found::ok;
    const Found initrd = dt_.u32(node, path, "initrd-entry", entry);
    if (initrd == Found::absent && payload.has_initrd) missing_normalized(path, "initrd-entry");
    if (initrd == Found::ok && !payload.has_initrd) {
      violations_.add(path.text, rule::property_value, "initrd-entry without initrd");
    }
    payload.initrd_entry = initrd == Found::ok ? entry : no_entry;
    payload.resolved = complete && (initrd == Found::ok) == payload.has_initrd;
  }

  // Payload files are named relative to the tool's payload directory.
  bool read_file_name(int node, const NodeText& path, const char* property, char* out, bool required) {
    const Found found = dt_.string(node, path, property, out, max_file_name);
    if (found == Found::absent && required) missing(path, property);
    if (found != Found::ok) return false;
    if (out[0] == '\0' || out[0] == '/') {
      violations_.add(path.text, rule::property_value, "{}: \"{}\" must be a relative file name", property,
                      shown(out).text);
      out[0] = '\0';
      return false;
    }
    return true;
  }

  void read_pci_device(int node, const NodeText& path, PciDeviceSelector& selector) {
    check_properties(node, path, pci_properties, count_of(pci_properties));
    char sbdf[24] = {};
    const Found sbdf_found = dt_.string(node, path, "sbdf", sbdf, sizeof(sbdf) - 1);
    if (sbdf_found == Found::ok) {
      selector.has_sbdf = parse_sbdf(sbdf, selector.sbdf);
      if (!selector.has_sbdf) {
        violations_.add(path.text, rule::pci_selector, "sbdf: \"{}\" is not SSSS:BB:DD.F or BB:DD.F (hex)",
                        shown(sbdf).text);
      }
    }
    const void* ids = nullptr;
    size_t id_count = 0;
    const Found ids_found = dt_.cells(node, path, "vendor-device", ids, id_count);
    if (ids_found == Found::ok && id_count != 2) {
      violations_.add(path.text, rule::property_type, "vendor-device: expected <vendor device>, found {} cells",
                      id_count);
    } else if (ids_found == Found::ok) {
      const uint32_t vendor = DtReader::cell(ids, 0);
      const uint32_t device = DtReader::cell(ids, 1);
      if (vendor > 0xffff || device > 0xffff) {
        violations_.add(path.text, rule::property_value, "vendor-device: {} {} are not 16-bit IDs", hex(vendor),
                        hex(device));
      } else {
        selector.has_ids = true;
        selector.vendor = static_cast<uint16_t>(vendor);
        selector.device = static_cast<uint16_t>(device);
      }
    }
    const Found instance = dt_.u32(node, path, "instance", selector.instance);
    selector.has_instance = instance == Found::ok;
    if (sbdf_found == Found::absent && ids_found == Found::absent) {
      violations_.add(path.text, rule::pci_selector, "needs sbdf, vendor-device, or both");
    }
    if (instance == Found::ok && ids_found == Found::absent) {
      violations_.add(path.text, rule::pci_selector, "instance needs vendor-device");
    } else if (instance == Found::ok && sbdf_found != Found::absent) {
      violations_.add(path.text, rule::pci_selector,
                      "instance cannot be combined with sbdf (the address names one function)");
    }
    if (normalized() && selector.has_ids && !selector.has_sbdf && !selector.has_instance) {
      missing_normalized(path, "instance");
    }
    const Found slot_found = dt_.u32(node, path, "guest-slot", selector.guest_slot);
    selector.slot_given = slot_found == Found::ok && !normalized();
    selector.slot_assigned = slot_found == Found::ok && normalized();
    if (slot_found == Found::absent && normalized()) missing_normalized(path, "guest-slot");
    read_reset(node, path, selector);
    reject_children(node, path);
  }

  // The only value is "none": the hypervisor chooses the method from the hardware.
  void read_reset(int node, const NodeText& path, PciDeviceSelector& selector) {
    char text[16] = {};
    if (dt_.string(node, path, "reset", text, sizeof(text) - 1) != Found::ok) return;
    selector.reset_none = same(text, "none");
    if (!selector.reset_none) {
      violations_.add(path.text, rule::pci_reset,
                      "reset: \"{}\" is not none (the hypervisor chooses the reset method from the hardware; "
                      "\"none\" hands the function over without one)",
                      shown(text).text);
    }
  }

  void read_platform_device(int node, const NodeText& path, PlatformDeviceRef& device) {
    check_properties(node, path, platform_properties, count_of(platform_properties));
    if (dt_.string(node, path, "device", device.device, max_device_name) == Found::absent) missing(path, "device");
    reject_children(node, path);
    if (!normalized()) return;
    const Found compatible = dt_.string_list(node, path, "compatible", device.compatible, sizeof(device.compatible),
                                             device.compatible_length);
    if (compatible == Found::absent) missing_normalized(path, "compatible");
    const Found reg = dt_.ranges(node, path, "mmio", device.regions, max_device_regions, device.region_count);
    if (reg == Found::absent) missing_normalized(path, "mmio");
    const void* cells = nullptr;
    size_t count = 0;
    const Found interrupts = dt_.cells(node, path, "spi-interrupts", cells, count);
    bool interrupts_valid = interrupts != Found::invalid;
    if (interrupts == Found::ok && (count % 2 != 0 || count / 2 > max_device_interrupts)) {
      violations_.add(path.text, rule::property_type, "spi-interrupts: expected up to {} <spi flags> pairs",
                      max_device_interrupts);
      interrupts_valid = false;
    } else if (interrupts == Found::ok) {
      device.interrupt_count = count / 2;
      for (size_t i = 0; i < device.interrupt_count; ++i) {
        device.interrupts[i] = {DtReader::cell(cells, 2 * i), DtReader::cell(cells, 2 * i + 1)};
      }
    }
    device.resolved = compatible == Found::ok && reg == Found::ok && interrupts_valid;
  }

  DtReader dt_;
  DescriptionForm form_;
  SystemDescription& out_;
  Violations& violations_;
};

}  // namespace

const char* payload_format_name(PayloadFormat format) {
  switch (format) {
    case PayloadFormat::linux_image:
      return "linux-image";
    case PayloadFormat::raw:
      return "raw";
    case PayloadFormat::unknown:
      break;
  }
  return "unknown";
}

const char* guest_console_name(GuestConsole console) {
  return console == GuestConsole::virtual_uart ? "virtual-uart" : "none";
}

const char* restart_policy_name(RestartPolicy policy) { return policy == RestartPolicy::restart ? "restart" : "stop"; }

DescriptionPath partition_path(const Partition& partition) {
  DescriptionPath path;
  FixedBuffer<sizeof(path.text)> text;
  format(text, "/partitions/{}", partition.name);
  rt::copy_string(path.text, sizeof(path.text), text.c_str());
  return path;
}

DescriptionPath partition_child_path(const Partition& partition, const char* node) {
  DescriptionPath path;
  FixedBuffer<sizeof(path.text)> text;
  format(text, "/partitions/{}/{}", partition.name, shown(node).text);
  rt::copy_string(path.text, sizeof(path.text), text.c_str());
  return path;
}

bool read_description(const void* blob, size_t size, DescriptionForm form, SystemDescription& description,
                      Violations& violations) {
  // Not `description = {}`: that may build a large temporary on the hypervisor's stack.
  rt::fill(&description, 0, sizeof(description));
  description.form = form;
  for (Partition& partition : description.partitions) partition.ram.guest_base = default_guest_ram_base;
  for (Partition& partition : description.partitions) {
    partition.payload.kernel_entry = no_entry;
    partition.payload.initrd_entry = no_entry;
  }
  const size_t before = violations.count();
  fdt::Index index = DtReader::node_table();
  if (!DtReader::check_blob(blob, size, index, violations)) return false;
  DescriptionReader(index, form, description, violations).read();
  return violations.count() == before;
}

}  // namespace bulkhead::partitions
