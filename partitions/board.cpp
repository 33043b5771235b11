#include "partitions/board.hpp"

#include "core/lib/runtime.hpp"
#include "partitions/dt_reader.hpp"
#include "partitions/rule_names.hpp"

namespace bulkhead::partitions {
namespace {

constexpr uint64_t page_size = 0x1000;
constexpr uint32_t mpidr_affinity_0_to_2 = 0x00ffffff;

constexpr const char* root_properties[] = {"compatible", "bulkhead,schema-version", "board", "cpu-mpidrs", "memory"};
constexpr const char* hypervisor_properties[] = {"reserved", "package-max-size"};
constexpr const char* device_properties[] = {"compatible", "mmio", "spi-interrupts"};

bool overlap(const AddressRange& a, const AddressRange& b) { return a.base < b.end() && b.base < a.end(); }
bool wraps(const AddressRange& range) { return range.size > UINT64_MAX - range.base; }

class BoardReader {
 public:
  BoardReader(const fdt::Index& index, BoardDefinition& board, Violations& violations)
      : dt_(index, violations), board_(board), violations_(violations) {}

  void read() {
    NodeText root;
    root.text[0] = '/';
    if (!read_identity(root)) return;
    dt_.check_properties(0, root, root_properties, sizeof(root_properties) / sizeof(root_properties[0]));
    if (dt_.string(0, root, "board", board_.name, max_board_name) == Found::absent) missing(root, "board");
    read_cpus(root);
    read_memory(root);
    bool saw_hypervisor = false;
    for (int node = dt_.first_child(0); node >= 0; node = dt_.next_sibling(node)) {
      size_t length = 0;
      const char* name = dt_.name(node, length);
      const NodeText path = dt_.child_path(root, node);
      if (length == 10 && rt::compare(name, "hypervisor", 10) == 0) {
        saw_hypervisor = true;
        read_hypervisor(node, path);
      } else if (length == 16 && rt::compare(name, "platform-devices", 16) == 0) {
        read_devices(node, path);
      } else {
        violations_.add(path.text, rule::unknown_node, "not a node of the board schema");
      }
    }
    if (!saw_hypervisor) violations_.add("/", rule::required, "missing node hypervisor");
  }

 private:
  void missing(const NodeText& path, const char* property) {
    violations_.add(path.text, rule::required, "missing property {}", property);
  }

  bool read_identity(const NodeText& root) {
    return check_root_identity(dt_, violations_, root, board_compatible, "board definition", schema_version);
  }

  void read_cpus(const NodeText& root) {
    const void* cells = nullptr;
    size_t count = 0;
    const Found found = dt_.cells(0, root, "cpu-mpidrs", cells, count);
    if (found == Found::absent) missing(root, "cpu-mpidrs");
    if (found != Found::ok) return;
    if (count == 0 || count > max_cpus) {
      violations_.add(root.text, rule::capacity, "cpu-mpidrs: {} CPUs, expected 1 to {}", count, max_cpus);
      return;
    }
    for (size_t i = 0; i < count; ++i) {
      const uint32_t mpidr = DtReader::cell(cells, i);
      if ((mpidr & ~mpidr_affinity_0_to_2) != 0) {
        violations_.add(root.text, rule::board_layout, "cpu-mpidrs: {} has bits above Aff2", hex(mpidr));
      }
      for (size_t j = 0; j < i; ++j) {
        if (board_.cpu_mpidrs[j] == mpidr) {
          violations_.add(root.text, rule::board_layout, "cpu-mpidrs: {} is listed twice", hex(mpidr));
        }
      }
      board_.cpu_mpidrs[i] = mpidr;
    }
    board_.cpu_count = count;
  }

  void read_memory(const NodeText& root) {
    const Found found = dt_.ranges(0, root, "memory", board_.ram, max_ram_ranges, board_.ram_count);
    if (found == Found::absent) missing(root, "memory");
    for (size_t i = 0; i < board_.ram_count; ++i) {
      const AddressRange& range = board_.ram[i];
      if (range.size == 0 || wraps(range)) {
        violations_.add(root.text, rule::board_layout, "memory: range {} size {} is empty or wraps", hex(range.base),
                        hex(range.size));
      }
      for (size_t j = 0; j < i; ++j) {
        if (overlap(range, board_.ram[j])) {
          violations_.add(root.text, rule::board_layout, "memory: range {} overlaps range {}", hex(range.base),
                          hex(board_.ram[j].base));
        }
      }
    }
  }

  void read_hypervisor(int node, const NodeText& path) {
    dt_.check_properties(node, path, hypervisor_properties, 2);
    const Found reserved =
        dt_.ranges(node, path, "reserved", board_.reserved, max_reserved_regions, board_.reserved_count);
    if (reserved == Found::absent) missing(path, "reserved");
    for (size_t i = 0; i < board_.reserved_count; ++i) {
      if (wraps(board_.reserved[i])) {
        violations_.add(path.text, rule::board_layout, "reserved: range {} wraps", hex(board_.reserved[i].base));
      }
    }
    if (dt_.u64(node, path, "package-max-size", board_.package_max_size) == Found::absent) {
      missing(path, "package-max-size");
    }
  }

  void read_devices(int node, const NodeText& path) {
    dt_.check_properties(node, path, nullptr, 0);
    for (int child = dt_.first_child(node); child >= 0; child = dt_.next_sibling(child)) {
      const NodeText device_path = dt_.child_path(path, child);
      if (board_.device_count == max_board_devices) {
        violations_.add(device_path.text, rule::capacity, "more than {} platform devices", max_board_devices);
        return;
      }
      size_t length = 0;
      const char* name = dt_.name(child, length);
      if (!valid_simple_name(name, length, max_device_name)) {
        violations_.add(device_path.text, rule::name_syntax, "device name is not 1 to {} of a-z, 0-9 and -",
                        max_device_name);
        continue;
      }
      BoardDevice& device = board_.devices[board_.device_count++];
      rt::copy(device.name, name, length);
      read_device(child, device_path, device);
    }
  }

  void read_device(int node, const NodeText& path, BoardDevice& device) {
    dt_.check_properties(node, path, device_properties, 3);
    if (dt_.string_list(node, path, "compatible", device.compatible, sizeof(device.compatible),
                        device.compatible_length) == Found::absent) {
      missing(path, "compatible");
    }
    if (dt_.ranges(node, path, "mmio", device.regions, max_device_regions, device.region_count) == Found::absent) {
      missing(path, "mmio");
    }
    for (size_t i = 0; i < device.region_count; ++i) check_device_region(path, device.regions[i]);
    const void* cells = nullptr;
    size_t count = 0;
    if (dt_.cells(node, path, "spi-interrupts", cells, count) != Found::ok) return;
    if (count % 2 != 0 || count / 2 > max_device_interrupts) {
      violations_.add(path.text, rule::property_type, "spi-interrupts: expected up to {} <spi flags> pairs",
                      max_device_interrupts);
      return;
    }
    device.interrupt_count = count / 2;
    for (size_t i = 0; i < device.interrupt_count; ++i) {
      device.interrupts[i] = {DtReader::cell(cells, 2 * i), DtReader::cell(cells, 2 * i + 1)};
    }
  }

  // Passed-through regions are mapped page by page, at the same guest address.
  void check_device_region(const NodeText& path, const AddressRange& region) {
    if (region.size == 0 || wraps(region) || region.base % page_size != 0 || region.size % page_size != 0) {
      violations_.add(path.text, rule::board_layout, "mmio: {} size {} is not whole 4 KiB pages", hex(region.base),
                      hex(region.size));
    }
    for (size_t i = 0; i < board_.ram_count; ++i) {
      if (overlap(region, board_.ram[i])) {
        violations_.add(path.text, rule::board_layout, "mmio: {} size {} overlaps RAM", hex(region.base),
                        hex(region.size));
      }
    }
  }

  DtReader dt_;
  BoardDefinition& board_;
  Violations& violations_;
};

}  // namespace

const BoardDevice* BoardDefinition::find_device(const char* device_name) const {
  for (size_t i = 0; i < device_count; ++i) {
    if (rt::compare_strings(devices[i].name, device_name) == 0) return &devices[i];
  }
  return nullptr;
}

bool read_board(const void* blob, size_t size, BoardDefinition& board, Violations& violations) {
  rt::fill(&board, 0, sizeof(board));
  const size_t before = violations.count();
  fdt::Index index = DtReader::node_table();
  if (!DtReader::check_blob(blob, size, index, violations)) return false;
  BoardReader(index, board, violations).read();
  return violations.count() == before;
}

}  // namespace bulkhead::partitions
