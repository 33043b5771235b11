#include "partitions/guest_dt.hpp"

#include <libfdt.h>

#include "core/arch/aarch64/intid.hpp"
#include "core/lib/fdt_writer.hpp"
#include "core/lib/format.hpp"
#include "core/lib/runtime.hpp"

namespace bulkhead::partitions {
namespace {

// GIC interrupt specifiers (<type number flags>) as the arm,gic-v3 binding writes them.
constexpr uint32_t gic_spi = 0;
constexpr uint32_t gic_ppi = 1;
constexpr uint32_t irq_edge_rising = 1;
constexpr uint32_t irq_level_high = 4;
constexpr uint32_t max_spi = 987;  // INTID 1019, the last SPI
constexpr uint32_t max_ppi = 15;
constexpr uint32_t gic_maintenance_ppi = 9;  // QEMU virt's, and what our vGIC raises

constexpr uint32_t apb_clock_hz = 24000000;  // QEMU virt's apb-pclk; the guest only reads it

constexpr const char* uart_node_name = "pl011@9000000";
constexpr const char* uart_stdout_path = "/pl011@9000000";
static_assert(guest_uart.range.base == 0x09000000, "the UART's node name says where it is");

// PCI `ranges` phys.hi space codes.
constexpr uint32_t pci_space_io = 0x01000000;
constexpr uint32_t pci_space_mem32 = 0x02000000;
constexpr uint32_t pci_space_mem64_prefetchable = 0x43000000;
// interrupt-map: the child unit address is (phys.hi phys.mid phys.lo) with the device
// number in phys.hi [15:11], then the pin; the parent is the GIC (#address-cells 2, 3
// interrupt cells).
constexpr uint32_t pci_device_shift = 11;
constexpr uint32_t pci_interrupt_map_mask[] = {0x1f << pci_device_shift, 0, 0, 7};
constexpr size_t pci_interrupt_map_entry_cells = 3 + 1 + 1 + 2 + 3;
constexpr uint8_t max_pci_pin = 4;
constexpr uint8_t pci_slots = 32;

// A node name is at most 31 characters before the '@' (devicetree specification 2.2.1).
constexpr size_t max_node_base_name = 31;
using NodeName = FixedBuffer<max_node_base_name + 24>;

static_assert(max_partition_cpus * redistributor_stride <= guest_gic_redistributors.range.size,
              "every vCPU's redistributor frames lie inside the fixed region");
static_assert(guest_dtb_reserve <= INT32_MAX, "libfdt sizes are int");

template <typename... Args>
bool fail(GuestDtError& error, FormatString<std::type_identity_t<Args>...> message, Args... args) {
  FixedBuffer<sizeof(error.message)> text;
  format<Args...>(text, message, args...);
  rt::copy_string(error.message, sizeof(error.message), text.c_str());
  return false;
}

uint32_t high(uint64_t value) { return static_cast<uint32_t>(value >> 32); }
uint32_t low(uint64_t value) { return static_cast<uint32_t>(value); }

// The sequential-write calls, with the first failure kept (and which property or node
// it was) so the callers can write the tree straight through. core/lib/fdt_writer.hpp
// writes every byte of the tree (no clearing of the buffer first) and keeps names as
// given (no search of the names already written).
// A property name: a literal, whose size the compiler knows.
struct PropertyName {
  template <size_t N>
  // cppcheck-suppress noExplicitConstructor
  consteval PropertyName(const char (&name)[N]) : text(name), size(N) {}  // NOLINT(google-explicit-constructor)
  const char* text;
  size_t size;  // with the NUL
};

class TreeWriter {
 public:
  TreeWriter(void* buffer, size_t capacity) : writer_(buffer, capacity) {
    if (writer_.status() != 0) check(writer_.status(), "header");
  }

  void begin(const char* name) { check(status_ == 0 ? writer_.begin_node(name) : 0, name[0] ? name : "/"); }
  void end() { check(status_ == 0 ? writer_.end_node() : 0, "end of node"); }
  void empty(PropertyName name) { bytes(name, "", 0); }  // a flag: no value (and no null pointer to memcpy)
  void string(PropertyName name, const char* value) { bytes(name, value, rt::length(value) + 1); }
  // Raw bytes, e.g. a string list: NUL-separated strings, `length` including the last NUL.
  void bytes(PropertyName name, const void* value, size_t length) {
    check(status_ == 0 ? writer_.property(name.text, name.size, value, length) : 0, name.text);
  }
  void u32(PropertyName name, uint32_t value) {
    const fdt32_t cell = cpu_to_fdt32(value);
    bytes(name, &cell, sizeof(cell));
  }
  void u64(PropertyName name, uint64_t value) {
    const fdt64_t cell_pair = cpu_to_fdt64(value);
    bytes(name, &cell_pair, sizeof(cell_pair));
  }
  // Big-endian cells, as DTS writes `<a b c>`.
  void cells(PropertyName name, const uint32_t* values, size_t count) {
    fdt32_t encoded[max_cells];
    if (count > max_cells) return check(-FDT_ERR_BADVALUE, name.text);
    for (size_t i = 0; i < count; ++i) encoded[i] = cpu_to_fdt32(values[i]);
    bytes(name, encoded, count * sizeof(fdt32_t));
  }

  bool finish() {
    check(status_ == 0 ? writer_.finish() : 0, "finish");
    return status_ == 0;
  }
  int status() const { return status_; }
  const char* where() const { return where_; }

 private:
  static constexpr size_t max_cells = 32;

  void check(int result, const char* what) {
    if (status_ == 0 && result != 0) {
      status_ = result;
      where_ = what;
    }
  }

  fdt::Writer writer_;
  int status_ = 0;
  const char* where_ = "";
};

// Accumulates cells for `reg`, `interrupts`, `ranges`. The largest list is a device's
// interrupts (3 cells each); the PCI bridge's `ranges` is 21 cells.
struct CellList {
  static constexpr size_t capacity = 32;
  static_assert(3 * max_device_interrupts <= capacity && 4 * max_device_regions <= capacity);
  uint32_t values[capacity] = {};
  size_t count = 0;
  void add(uint32_t value) {
    if (count < capacity) values[count++] = value;
  }
  void add64(uint64_t value) {
    add(high(value));
    add(low(value));
  }
  void add_range(const AddressRange& range) {
    add64(range.base);
    add64(range.size);
  }
  void add_interrupt(uint32_t type, uint32_t number, uint32_t flags) {
    add(type);
    add(number);
    add(flags);
  }
};

bool terminated(const char* text, size_t capacity) { return rt::length_bounded(text, capacity) < capacity; }

// The board device's name for messages, safe even when the input is garbage.
const char* device_label(const PlatformDeviceRef& device) {
  return terminated(device.device, sizeof(device.device)) ? device.device : "?";
}

bool node_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ',' || c == '.' ||
         c == '_' || c == '+' || c == '-';
}

// "pl031@9010000" for "arm,pl031": the first compatible without its vendor prefix (the
// generic-name convention QEMU's virt uses too), at the first region's base.
void device_node_name(const PlatformDeviceRef& device, NodeName& name) {
  const char* model = device.compatible;
  const char* comma = rt::find_char(model, ',');
  if (comma != nullptr) model = comma + 1;
  char base_name[max_node_base_name + 1] = {};
  size_t length = 0;
  for (; length < max_node_base_name && model[length] != '\0'; ++length) {
    base_name[length] = node_name_char(model[length]) ? model[length] : '-';
  }
  name.clear();
  format(name, "{}@{}", length != 0 ? static_cast<const char*>(base_name) : "device",  // "arm," alone
         plain_hex(device.regions[0].base, 0));
}

bool has_compatible(const PlatformDeviceRef& device, const char* wanted) {
  for (size_t offset = 0; offset < device.compatible_length;) {
    const char* entry = device.compatible + offset;
    if (rt::compare_strings(entry, wanted) == 0) return true;
    offset += rt::length(entry) + 1;
  }
  return false;
}

bool inside(const AddressRange& outer, uint64_t base, uint64_t end) {
  return base >= outer.base && base <= end && end <= outer.end();
}

// Everything the writer relies on, so a bad input is a message rather than a bad tree.
bool check_device(const Partition& partition, const PlatformDeviceRef& device, uint32_t uart_spi,
                  GuestDtError& error) {
  const char* name = device_label(device);
  if (!device.resolved) {
    return fail(error, "partition {}: device {} is not resolved from the board", partition.name, name);
  }
  if (device.compatible_length == 0 || device.compatible_length > sizeof(device.compatible) ||
      device.compatible[device.compatible_length - 1] != '\0' || device.compatible[0] == '\0') {
    return fail(error, "partition {}: device {} has no well-formed compatible list", partition.name, name);
  }
  if (device.region_count == 0 || device.region_count > max_device_regions) {
    return fail(error, "partition {}: device {} has {} MMIO regions, expected 1..{}", partition.name, name,
                device.region_count, max_device_regions);
  }
  for (size_t i = 0; i < device.region_count; ++i) {
    const AddressRange& region = device.regions[i];
    if (region.size == 0 || region.base > guest_address_limit || region.size > guest_address_limit - region.base) {
      return fail(error, "partition {}: device {} region {} size {} is empty or beyond the guest address space",
                  partition.name, name, hex(region.base), hex(region.size));
    }
  }
  if (device.interrupt_count > max_device_interrupts) {
    return fail(error, "partition {}: device {} has {} interrupts, at most {}", partition.name, name,
                device.interrupt_count, max_device_interrupts);
  }
  for (size_t i = 0; i < device.interrupt_count; ++i) {
    const DeviceInterrupt& interrupt = device.interrupts[i];
    if (interrupt.spi > max_spi) {
      return fail(error, "partition {}: device {} SPI {} is above {}", partition.name, name, interrupt.spi, max_spi);
    }
    if (interrupt.flags != irq_edge_rising && interrupt.flags != irq_level_high) {
      return fail(error, "partition {}: device {} SPI {} flags {}: GICv3 SPIs are edge rising (1) or level high (4)",
                  partition.name, name, interrupt.spi, interrupt.flags);
    }
    if (partition.console == GuestConsole::virtual_uart && interrupt.spi == uart_spi) {
      return fail(error, "partition {}: device {} SPI {} is the virtual UART's", partition.name, name, interrupt.spi);
    }
  }
  return true;
}

bool check_input(const GuestDtInput& input, GuestDtError& error) {
  if (input.partition == nullptr) return fail(error, "guest DT: no partition");
  const Partition& partition = *input.partition;
  if (!terminated(partition.name, sizeof(partition.name)) || partition.name[0] == '\0') {
    return fail(error, "guest DT: the partition has no name");
  }
  if (partition.cpu_count == 0 || partition.cpu_count > max_partition_cpus) {
    return fail(error, "partition {}: {} CPUs, expected 1..{}", partition.name, partition.cpu_count,
                max_partition_cpus);
  }
  const PartitionRam& ram = partition.ram;
  if (ram.size == 0 || ram.guest_base > guest_address_limit || ram.size > guest_address_limit - ram.guest_base) {
    return fail(error, "partition {}: guest RAM {} size {} is empty or beyond the guest address space",
                partition.name, hex(ram.guest_base), hex(ram.size));
  }
  if (!terminated(partition.payload.bootargs, sizeof(partition.payload.bootargs))) {
    return fail(error, "partition {}: bootargs are not terminated", partition.name);
  }
  const PayloadPlacement& placement = input.placement;
  if (partition.payload.has_initrd &&
      !inside({ram.guest_base, ram.size}, placement.initrd_base, placement.initrd_end)) {
    return fail(error, "partition {}: initrd {}..{} is not inside guest RAM", partition.name,
                hex(placement.initrd_base), hex(placement.initrd_end));
  }
  const TimerInfo& timer = input.timer;
  if (!timer.present) return fail(error, "partition {}: the firmware described no timer", partition.name);
  if (timer.secure_physical_ppi > max_ppi || timer.physical_ppi > max_ppi || timer.virtual_ppi > max_ppi ||
      timer.hypervisor_ppi > max_ppi) {
    return fail(error, "partition {}: timer PPIs {} {} {} {} are not all 0..15", partition.name,
                timer.secure_physical_ppi, timer.physical_ppi, timer.virtual_ppi, timer.hypervisor_ppi);
  }
  if (input.uart_spi > max_spi) {
    return fail(error, "partition {}: virtual UART SPI {} is above {}", partition.name, input.uart_spi, max_spi);
  }
  const MessageSpis& spis = partition.msi_spis;
  if (input.message_interrupts && spis.assigned &&
      (spis.count == 0 || spis.count > max_msi_spis || spis.first > max_spi || spis.count - 1 > max_spi - spis.first)) {
    return fail(error, "partition {}: msi-spis {} count {} are not SPIs", partition.name, spis.first, spis.count);
  }
  if (partition.platform_device_count > max_platform_devices) {
    return fail(error, "partition {}: {} platform devices, at most {}", partition.name,
                partition.platform_device_count, max_platform_devices);
  }
  for (size_t i = 0; i < partition.platform_device_count; ++i) {
    const PlatformDeviceRef& device = partition.platform_devices[i];
    if (!check_device(partition, device, input.uart_spi, error)) return false;
    NodeName name;
    device_node_name(device, name);
    // Sibling nodes need distinct names; only a device at the same base can collide.
    if (partition.console == GuestConsole::virtual_uart && rt::compare_strings(name.c_str(), uart_node_name) == 0) {
      return fail(error, "partition {}: device {} would be named like the virtual UART, {}", partition.name,
                  device_label(device), name.c_str());
    }
    for (size_t j = 0; j < i; ++j) {
      NodeName other;
      device_node_name(partition.platform_devices[j], other);
      if (rt::compare_strings(name.c_str(), other.c_str()) == 0) {
        return fail(error, "partition {}: devices {} and {} would both be named {}", partition.name,
                    device_label(partition.platform_devices[j]), device_label(device), name.c_str());
      }
    }
  }
  return true;
}

void write_chosen(TreeWriter& tree, const GuestDtInput& input) {
  const Partition& partition = *input.partition;
  tree.begin("chosen");
  if (partition.payload.bootargs[0] != '\0') tree.string("bootargs", partition.payload.bootargs);
  if (partition.console == GuestConsole::virtual_uart) tree.string("stdout-path", uart_stdout_path);
  if (partition.payload.has_initrd) {
    tree.u64("linux,initrd-start", input.placement.initrd_base);
    tree.u64("linux,initrd-end", input.placement.initrd_end);
  }
  // Which partition this is, for guests (and people) that want to know.
  tree.string("bulkhead,partition", partition.name);
  // No rng-seed/kaslr-seed: the tree must be the same bytes on every boot.
  tree.end();
}

// Guest MPIDRs are 0..n-1 (Aff0), so `reg` is the vCPU index.
void write_cpus(TreeWriter& tree, const Partition& partition) {
  tree.begin("cpus");
  tree.u32("#address-cells", 1);
  tree.u32("#size-cells", 0);
  for (uint32_t cpu = 0; cpu < partition.cpu_count; ++cpu) {
    NodeName name;
    format(name, "cpu@{}", plain_hex(cpu, 0));
    tree.begin(name.c_str());
    tree.string("device_type", "cpu");
    tree.string("compatible", "arm,armv8");
    tree.u32("reg", cpu);
    tree.string("enable-method", "psci");
    tree.end();
  }
  tree.end();
}

// PSCI 0.2+ function IDs are standard, so no per-function properties.
void write_psci(TreeWriter& tree) {
  static constexpr char compatible[] = "arm,psci-1.0\0arm,psci-0.2";
  tree.begin("psci");
  tree.bytes("compatible", compatible, sizeof(compatible));
  tree.string("method", "hvc");
  tree.end();
}

void write_memory(TreeWriter& tree, const PartitionRam& ram) {
  NodeName name;
  format(name, "memory@{}", plain_hex(ram.guest_base, 0));
  CellList reg;
  reg.add_range({ram.guest_base, ram.size});
  tree.begin(name.c_str());
  tree.string("device_type", "memory");
  tree.cells("reg", reg.values, reg.count);
  tree.end();
}

bool describes_messages(const GuestDtInput& input) {
  return input.message_interrupts && input.partition->msi_spis.assigned;
}

// Redistributor frames exist for the partition's vCPUs only, so `reg` covers just those
// and the guest never probes past its last vCPU. MSIs are message-based SPIs (Linux's
// GICv3 MBI support): no ITS node, `mbi-ranges` in INTIDs.
void write_gic(TreeWriter& tree, const GuestDtInput& input) {
  const Partition& partition = *input.partition;
  NodeName name;
  format(name, "intc@{}", plain_hex(guest_gic_distributor.range.base, 0));
  CellList reg;
  reg.add_range(guest_gic_distributor.range);
  reg.add_range({guest_gic_redistributors.range.base, partition.cpu_count * redistributor_stride});
  CellList maintenance;
  maintenance.add_interrupt(gic_ppi, gic_maintenance_ppi, irq_level_high);
  tree.begin(name.c_str());
  tree.string("compatible", "arm,gic-v3");
  tree.u32("#interrupt-cells", 3);
  tree.empty("interrupt-controller");
  tree.u32("#address-cells", 2);
  tree.u32("#size-cells", 2);
  tree.empty("ranges");
  tree.cells("reg", reg.values, reg.count);
  tree.u32("#redistributor-regions", 1);
  tree.cells("interrupts", maintenance.values, maintenance.count);
  if (describes_messages(input)) {
    const MessageSpis& spis = partition.msi_spis;
    const uint32_t ranges[] = {arch::Intid::from_dt_spi(spis.first).value(), spis.count};
    tree.empty("msi-controller");
    tree.cells("mbi-ranges", ranges, 2);
  }
  tree.u32("phandle", guest_gic_phandle);
  tree.end();
}

// The binding's order: secure physical, non-secure physical, virtual, hypervisor. The
// flags are QEMU virt's for GICv3 (level high).
void write_timer(TreeWriter& tree, const TimerInfo& timer) {
  static constexpr char compatible[] = "arm,armv8-timer\0arm,armv7-timer";
  CellList interrupts;
  interrupts.add_interrupt(gic_ppi, timer.secure_physical_ppi, irq_level_high);
  interrupts.add_interrupt(gic_ppi, timer.physical_ppi, irq_level_high);
  interrupts.add_interrupt(gic_ppi, timer.virtual_ppi, irq_level_high);
  interrupts.add_interrupt(gic_ppi, timer.hypervisor_ppi, irq_level_high);
  tree.begin("timer");
  tree.bytes("compatible", compatible, sizeof(compatible));
  tree.cells("interrupts", interrupts.values, interrupts.count);
  tree.empty("always-on");
  tree.end();
}

// Linux's AMBA bus (PL011, PL031, ...) will not probe a primecell without its apb_pclk.
void write_apb_clock(TreeWriter& tree) {
  tree.begin("apb-pclk");
  tree.string("compatible", "fixed-clock");
  tree.u32("#clock-cells", 0);
  tree.u32("clock-frequency", apb_clock_hz);
  tree.string("clock-output-names", "clk24mhz");
  tree.u32("phandle", guest_clock_phandle);
  tree.end();
}

void write_uart(TreeWriter& tree, uint32_t uart_spi) {
  static constexpr char compatible[] = "arm,pl011\0arm,primecell";
  static constexpr char clock_names[] = "uartclk\0apb_pclk";
  CellList reg;
  reg.add_range(guest_uart.range);
  CellList interrupts;
  interrupts.add_interrupt(gic_spi, uart_spi, irq_level_high);
  const uint32_t clocks[] = {guest_clock_phandle, guest_clock_phandle};
  tree.begin(uart_node_name);
  tree.bytes("compatible", compatible, sizeof(compatible));
  tree.cells("reg", reg.values, reg.count);
  tree.cells("interrupts", interrupts.values, interrupts.count);
  tree.cells("clocks", clocks, 2);
  tree.bytes("clock-names", clock_names, sizeof(clock_names));
  tree.end();
}

void write_platform_device(TreeWriter& tree, const PlatformDeviceRef& device) {
  NodeName name;
  device_node_name(device, name);
  CellList reg;
  for (size_t i = 0; i < device.region_count; ++i) reg.add_range(device.regions[i]);
  CellList interrupts;
  for (size_t i = 0; i < device.interrupt_count; ++i) {
    interrupts.add_interrupt(gic_spi, device.interrupts[i].spi, device.interrupts[i].flags);
  }
  tree.begin(name.c_str());
  tree.bytes("compatible", device.compatible, device.compatible_length);
  tree.cells("reg", reg.values, reg.count);
  if (interrupts.count != 0) tree.cells("interrupts", interrupts.values, interrupts.count);
  if (has_compatible(device, "arm,primecell")) {
    tree.u32("clocks", guest_clock_phandle);
    tree.string("clock-names", "apb_pclk");
  }
  tree.end();
}

// The virtual PCI host bridge's interrupt lines: each (slot, pin) once, a real SPI, not
// the virtual UART's.
bool check_pci_interrupts(const GuestDtInput& input, GuestDtError& error) {
  const Partition& partition = *input.partition;
  if (input.pci_interrupt_count > max_pci_devices) {
    return fail(error, "partition {}: {} PCI interrupts, at most {}", partition.name, input.pci_interrupt_count,
                max_pci_devices);
  }
  for (size_t i = 0; i < input.pci_interrupt_count; ++i) {
    const GuestPciInterrupt& line = input.pci_interrupts[i];
    if (line.slot == 0 || line.slot >= pci_slots || line.pin == 0 || line.pin > max_pci_pin) {
      return fail(error, "partition {}: PCI interrupt slot {} pin {}: slot must be 1..31, pin 1..4", partition.name,
                  line.slot, line.pin);
    }
    if (line.spi > max_spi || (line.flags != irq_edge_rising && line.flags != irq_level_high)) {
      return fail(error, "partition {}: PCI slot {} INTx SPI {} flags {}: not a GICv3 SPI with flags 1 or 4",
                  partition.name, line.slot, line.spi, line.flags);
    }
    if (partition.console == GuestConsole::virtual_uart && line.spi == input.uart_spi) {
      return fail(error, "partition {}: PCI slot {} INTx SPI {} is the virtual UART's", partition.name, line.slot,
                  line.spi);
    }
    for (size_t j = 0; j < i; ++j) {
      if (input.pci_interrupts[j].slot == line.slot && input.pci_interrupts[j].pin == line.pin) {
        return fail(error, "partition {}: PCI slot {} pin {} is listed twice", partition.name, line.slot, line.pin);
      }
    }
  }
  return true;
}

// The virtual host bridge (vPCI): bus 0 of segment 0 holds the partition's functions.
// The ECAM region reserves 16 buses, the bridge offers bus 0. PCI and CPU addresses are
// the same in the memory windows; I/O port 0 is at the I/O window's base. INTx lines go
// through interrupt-map; MSIs go to the GIC's message-based SPIs (msi-parent).
void write_pci_bridge(TreeWriter& tree, const GuestDtInput& input) {
  const AddressRange& ecam = guest_pci_ecam.range;
  const AddressRange& io = guest_pci_io.range;
  const AddressRange& mmio32 = guest_pci_mmio32.range;
  const AddressRange& mmio64 = guest_pci_mmio64.range;
  NodeName name;
  format(name, "pcie@{}", plain_hex(ecam.base, 0));
  CellList reg;
  reg.add_range(ecam);
  const uint32_t bus_range[] = {0, 0};
  CellList ranges;
  ranges.add(pci_space_io);
  ranges.add64(0);
  ranges.add64(io.base);
  ranges.add64(io.size);
  ranges.add(pci_space_mem32);
  ranges.add64(mmio32.base);
  ranges.add64(mmio32.base);
  ranges.add64(mmio32.size);
  ranges.add(pci_space_mem64_prefetchable);
  ranges.add64(mmio64.base);
  ranges.add64(mmio64.base);
  ranges.add64(mmio64.size);
  tree.begin(name.c_str());
  tree.string("compatible", "pci-host-ecam-generic");
  tree.string("device_type", "pci");
  tree.u32("#address-cells", 3);
  tree.u32("#size-cells", 2);
  tree.u32("linux,pci-domain", 0);
  tree.cells("bus-range", bus_range, 2);
  tree.cells("reg", reg.values, reg.count);
  tree.cells("ranges", ranges.values, ranges.count);
  tree.empty("dma-coherent");
  if (describes_messages(input)) tree.u32("msi-parent", guest_gic_phandle);
  if (input.pci_interrupt_count != 0) {
    fdt32_t map[max_pci_devices * pci_interrupt_map_entry_cells];
    size_t cells = 0;
    for (size_t i = 0; i < input.pci_interrupt_count; ++i) {
      const GuestPciInterrupt& line = input.pci_interrupts[i];
      const uint32_t entry[pci_interrupt_map_entry_cells] = {
          static_cast<uint32_t>(line.slot) << pci_device_shift, 0, 0, line.pin, guest_gic_phandle, 0, 0, gic_spi,
          line.spi, line.flags};
      for (uint32_t cell : entry) map[cells++] = cpu_to_fdt32(cell);
    }
    tree.u32("#interrupt-cells", 1);
    tree.cells("interrupt-map-mask", pci_interrupt_map_mask, 4);
    tree.bytes("interrupt-map", map, cells * sizeof(fdt32_t));
  }
  tree.end();
}

bool needs_apb_clock(const Partition& partition) {
  if (partition.console == GuestConsole::virtual_uart) return true;
  for (size_t i = 0; i < partition.platform_device_count; ++i) {
    if (has_compatible(partition.platform_devices[i], "arm,primecell")) return true;
  }
  return false;
}

}  // namespace

bool write_guest_dt(const GuestDtInput& input, void* buffer, size_t capacity, size_t& size, GuestDtError& error) {
  error.message[0] = '\0';
  size = 0;
  if (!check_input(input, error)) return false;
  if (input.virtual_pci && !check_pci_interrupts(input, error)) return false;
  const Partition& partition = *input.partition;
  // The arm64 boot protocol wants the DTB 8-byte aligned; libfdt wants aligned headers.
  if (buffer == nullptr || reinterpret_cast<uintptr_t>(buffer) % 8 != 0) {
    return fail(error, "partition {}: guest DT buffer is not 8-byte aligned", partition.name);
  }
  if (capacity > guest_dtb_reserve) capacity = guest_dtb_reserve;  // all the guest RAM keeps for it

  TreeWriter tree(buffer, capacity);
  tree.begin("");
  tree.string("compatible", "linux,dummy-virt");
  tree.string("model", "bulkhead,partition");
  tree.u32("#address-cells", 2);
  tree.u32("#size-cells", 2);
  tree.u32("interrupt-parent", guest_gic_phandle);
  write_chosen(tree, input);
  write_cpus(tree, partition);
  write_psci(tree);
  write_memory(tree, partition.ram);
  write_gic(tree, input);
  write_timer(tree, input.timer);
  if (needs_apb_clock(partition)) write_apb_clock(tree);
  if (partition.console == GuestConsole::virtual_uart) write_uart(tree, input.uart_spi);
  for (size_t i = 0; i < partition.platform_device_count; ++i) {
    write_platform_device(tree, partition.platform_devices[i]);
  }
  if (input.virtual_pci && partition.pci_device_count != 0) write_pci_bridge(tree, input);
  tree.end();

  if (!tree.finish()) {
    if (tree.status() == -FDT_ERR_NOSPACE) {
      return fail(error, "partition {}: guest DT does not fit in {} bytes (at {})", partition.name, capacity,
                  tree.where());
    }
    return fail(error, "partition {}: guest DT: {} at {}", partition.name, fdt_strerror(tree.status()), tree.where());
  }
  size = fdt_totalsize(buffer);
  return true;
}

}  // namespace bulkhead::partitions
