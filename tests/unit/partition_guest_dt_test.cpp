// The guest device-tree generator: every node and property checked through libfdt, the
// blob decompiled by dtc (which must accept it without a warning), the device nodes
// compared with QEMU's own virt DTB, capacity and consistency errors, determinism.
#include <doctest/doctest.h>
#include <libfdt.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "core/platform/firmware_dt.hpp"
#include "partitions/guest_dt.hpp"

using namespace bulkhead;
using namespace bulkhead::partitions;

namespace {

using Cells = std::vector<uint32_t>;
using Names = std::vector<std::string>;

constexpr uint64_t gib = uint64_t{1} << 30;

// QEMU virt's architected timer PPIs (secure physical, physical, virtual, hypervisor).
TimerInfo qemu_timer() {
  TimerInfo timer;
  timer.present = true;
  timer.secure_physical_ppi = 13;
  timer.physical_ppi = 14;
  timer.virtual_ppi = 11;
  timer.hypervisor_ppi = 10;
  return timer;
}

// A board device as the rules resolve it; `compatible` is a NUL-separated list.
PlatformDeviceRef platform_device(const char* device, const std::string& compatible, std::vector<AddressRange> regions,
                                  std::vector<DeviceInterrupt> interrupts) {
  PlatformDeviceRef ref;
  std::snprintf(ref.node, sizeof(ref.node), "platform-device@0");
  std::snprintf(ref.device, sizeof(ref.device), "%s", device);
  ref.resolved = true;
  std::memcpy(ref.compatible, compatible.c_str(), compatible.size() + 1);
  ref.compatible_length = compatible.size() + 1;
  for (const AddressRange& region : regions) ref.regions[ref.region_count++] = region;
  for (const DeviceInterrupt& interrupt : interrupts) ref.interrupts[ref.interrupt_count++] = interrupt;
  return ref;
}

PlatformDeviceRef rtc() {
  return platform_device("rtc", std::string("arm,pl031\0arm,primecell", 23), {{0x09010000, 0x1000}}, {{2, 4}});
}

// The default configuration's Linux partition: 2 CPUs, 1 GiB, Image + initrd, console, RTC.
Partition linux_partition() {
  Partition p;
  std::strcpy(p.name, "linux");
  p.cpu_selector = CpuSelector::indices;
  p.cpus_resolved = true;
  p.cpus[0] = {1, 1};
  p.cpus[1] = {2, 2};
  p.cpu_count = 2;
  p.ram = {true, gib, false, true, 0x60000000, default_guest_ram_base};
  p.payload.present = true;
  p.payload.format = PayloadFormat::linux_image;
  p.payload.has_initrd = true;
  p.payload.has_load_offset = true;
  p.payload.load_offset = 0;
  p.payload.resolved = true;
  p.payload.load_size = 0x2000000;
  p.payload.initrd_size = 0x7f1234;
  std::strcpy(p.payload.bootargs, "console=ttyAMA0 earlycon");
  p.console = GuestConsole::virtual_uart;
  p.platform_devices[p.platform_device_count++] = rtc();
  return p;
}

// A bare-metal heartbeat: 1 CPU, 8 MiB at 2 GiB, raw binary, no console, no initrd.
Partition bare_metal_partition() {
  Partition p;
  std::strcpy(p.name, "heartbeat");
  p.cpus[0] = {3, 3};
  p.cpu_count = 1;
  p.cpus_resolved = true;
  p.ram = {true, 8 * mib, false, true, 0x70000000, 0x80000000};
  p.payload.present = true;
  p.payload.format = PayloadFormat::raw;
  p.payload.resolved = true;
  p.payload.load_size = 0x3000;
  p.console = GuestConsole::none;
  return p;
}

GuestDtInput input_for(const Partition& partition) {
  GuestDtInput input;
  input.partition = &partition;
  const Payload& payload = partition.payload;
  input.placement = place_payloads(partition.ram.guest_base, partition.ram.size, payload.load_offset,
                                   payload.load_size, payload.has_initrd ? payload.initrd_size : 0);
  REQUIRE(input.placement.fits);
  input.timer = qemu_timer();
  return input;
}

// A generated blob in 8-byte aligned storage, and libfdt/dtc views of it.
class GuestDt {
 public:
  explicit GuestDt(const GuestDtInput& input, uint8_t garbage = 0xa5) : words_(guest_dtb_reserve / 8) {
    std::memset(words_.data(), garbage, guest_dtb_reserve);
    GuestDtError error;
    const bool written = write_guest_dt(input, words_.data(), guest_dtb_reserve, size_, error);
    REQUIRE_MESSAGE(written, error.message);
    CHECK(error.message[0] == '\0');
    REQUIRE(size_ == fdt_totalsize(fdt()));
    REQUIRE(fdt_check_full(fdt(), size_) == 0);
  }

  const void* fdt() const { return words_.data(); }
  size_t size() const { return size_; }
  std::vector<uint8_t> bytes() const {
    const auto* begin = reinterpret_cast<const uint8_t*>(words_.data());
    return {begin, begin + size_};
  }

  bool has_node(const std::string& path) const { return fdt_path_offset(fdt(), path.c_str()) >= 0; }
  int node(const std::string& path) const {
    const int offset = fdt_path_offset(fdt(), path.c_str());
    REQUIRE_MESSAGE(offset >= 0, "no node " << path);
    return offset;
  }
  bool has(const std::string& path, const char* name) const {
    return fdt_getprop(fdt(), node(path), name, nullptr) != nullptr;
  }
  // The raw value: strings keep their NULs.
  std::string raw(const std::string& path, const char* name) const {
    int length = 0;
    const void* value = fdt_getprop(fdt(), node(path), name, &length);
    REQUIRE_MESSAGE(value != nullptr, "no property " << path << " " << name);
    return {static_cast<const char*>(value), static_cast<size_t>(length)};
  }
  std::string string(const std::string& path, const char* name) const {
    const std::string value = raw(path, name);
    REQUIRE_MESSAGE((!value.empty() && value.back() == '\0'), path << " " << name << " is not a string");
    return value.substr(0, value.size() - 1);
  }
  Names strings(const std::string& path, const char* name) const {
    Names list;
    const std::string value = raw(path, name);
    for (size_t start = 0; start < value.size();) {
      const size_t end = value.find('\0', start);
      REQUIRE(end != std::string::npos);
      list.push_back(value.substr(start, end - start));
      start = end + 1;
    }
    return list;
  }
  Cells cells(const std::string& path, const char* name) const {
    const std::string value = raw(path, name);
    REQUIRE(value.size() % 4 == 0);
    Cells list;
    for (size_t i = 0; i < value.size(); i += 4) {
      uint32_t cell;
      std::memcpy(&cell, value.data() + i, 4);
      list.push_back(fdt32_to_cpu(cell));
    }
    return list;
  }
  uint64_t u64(const std::string& path, const char* name) const {
    const Cells value = cells(path, name);
    REQUIRE(value.size() == 2);
    return (uint64_t{value[0]} << 32) | value[1];
  }
  Names properties(const std::string& path) const {
    Names list;
    int offset = 0;
    fdt_for_each_property_offset(offset, fdt(), node(path)) {
      const char* name = nullptr;
      REQUIRE(fdt_getprop_by_offset(fdt(), offset, &name, nullptr) != nullptr);
      list.push_back(name);
    }
    return list;
  }
  Names children(const std::string& path) const {
    Names list;
    int child = 0;
    fdt_for_each_subnode(child, fdt(), node(path)) list.push_back(fdt_get_name(fdt(), child, nullptr));
    return list;
  }
  std::string phandle_target(uint32_t phandle) const {
    const int offset = fdt_node_offset_by_phandle(fdt(), phandle);
    REQUIRE_MESSAGE(offset >= 0, "no node with phandle " << phandle);
    return fdt_get_name(fdt(), offset, nullptr);
  }

  // Writes the blob to the work dir and decompiles it; dtc must succeed without a warning.
  std::string decompile(const std::string& name) const {
    const std::string directory = std::string(BULKHEAD_TEST_WORK_DIR) + "/guest-dt";
    std::filesystem::create_directories(directory);
    const std::string base = directory + "/" + name;
    {
      std::ofstream out(base + ".dtb", std::ios::binary);
      out.write(static_cast<const char*>(fdt()), static_cast<std::streamsize>(size_));
      REQUIRE(out.good());
    }
    const std::string command = "dtc -I dtb -O dts -o " + base + ".dts " + base + ".dtb 2>" + base + ".err";
    CHECK_MESSAGE(std::system(command.c_str()) == 0, command);
    CHECK_MESSAGE(read(base + ".err").empty(), "dtc warned: " << read(base + ".err"));
    return read(base + ".dts");
  }

 private:
  static std::string read(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  std::vector<uint64_t> words_;
  size_t size_ = 0;
};

bool contains(const std::string& text, const std::string& line) { return text.find(line) != std::string::npos; }

// The nodes every partition has, whatever it uses.
void check_common_nodes(const GuestDt& dt, const Partition& partition) {
  CHECK(dt.properties("/") == Names{"compatible", "model", "#address-cells", "#size-cells", "interrupt-parent"});
  CHECK(dt.string("/", "compatible") == "linux,dummy-virt");
  CHECK(dt.string("/", "model") == "bulkhead,partition");
  CHECK(dt.cells("/", "#address-cells") == Cells{2});
  CHECK(dt.cells("/", "#size-cells") == Cells{2});
  CHECK(dt.cells("/", "interrupt-parent") == Cells{guest_gic_phandle});
  CHECK(dt.phandle_target(guest_gic_phandle) == "intc@8000000");

  CHECK(dt.string("/chosen", "bulkhead,partition") == partition.name);

  CHECK(dt.properties("/cpus") == Names{"#address-cells", "#size-cells"});
  CHECK(dt.cells("/cpus", "#address-cells") == Cells{1});
  CHECK(dt.cells("/cpus", "#size-cells") == Cells{0});
  Names cpu_nodes;
  for (uint32_t cpu = 0; cpu < partition.cpu_count; ++cpu) {
    std::ostringstream name;
    name << "cpu@" << std::hex << cpu;
    cpu_nodes.push_back(name.str());
    const std::string path = "/cpus/" + name.str();
    CAPTURE(path);
    CHECK(dt.properties(path) == Names{"device_type", "compatible", "reg", "enable-method"});
    CHECK(dt.string(path, "device_type") == "cpu");
    CHECK(dt.string(path, "compatible") == "arm,armv8");
    CHECK(dt.cells(path, "reg") == Cells{cpu});
    CHECK(dt.string(path, "enable-method") == "psci");
  }
  CHECK(dt.children("/cpus") == cpu_nodes);

  CHECK(dt.properties("/psci") == Names{"compatible", "method"});
  CHECK(dt.strings("/psci", "compatible") == Names{"arm,psci-1.0", "arm,psci-0.2"});
  CHECK(dt.string("/psci", "method") == "hvc");

  std::ostringstream memory;
  memory << "/memory@" << std::hex << partition.ram.guest_base;
  CHECK(dt.properties(memory.str()) == Names{"device_type", "reg"});
  CHECK(dt.string(memory.str(), "device_type") == "memory");
  const uint64_t base = partition.ram.guest_base;
  const uint64_t size = partition.ram.size;
  CHECK(dt.cells(memory.str(), "reg") ==
        Cells{uint32_t(base >> 32), uint32_t(base), uint32_t(size >> 32), uint32_t(size)});

  const std::string gic = "/intc@8000000";
  CHECK(dt.properties(gic) == Names{"compatible", "#interrupt-cells", "interrupt-controller", "#address-cells",
                                    "#size-cells", "ranges", "reg", "#redistributor-regions", "interrupts",
                                    "phandle"});
  CHECK(dt.string(gic, "compatible") == "arm,gic-v3");
  CHECK(dt.cells(gic, "#interrupt-cells") == Cells{3});
  CHECK(dt.raw(gic, "interrupt-controller").empty());
  CHECK(dt.cells(gic, "#address-cells") == Cells{2});
  CHECK(dt.cells(gic, "#size-cells") == Cells{2});
  CHECK(dt.raw(gic, "ranges").empty());
  const auto redistributors = static_cast<uint32_t>(partition.cpu_count * 0x20000);
  CHECK(dt.cells(gic, "reg") == Cells{0, 0x08000000, 0, 0x10000, 0, 0x080a0000, 0, redistributors});
  CHECK(dt.cells(gic, "#redistributor-regions") == Cells{1});
  CHECK(dt.cells(gic, "interrupts") == Cells{1, 9, 4});
  CHECK(dt.cells(gic, "phandle") == Cells{guest_gic_phandle});
  CHECK(dt.children(gic).empty());  // no ITS yet

  CHECK(dt.properties("/timer") == Names{"compatible", "interrupts", "always-on"});
  CHECK(dt.strings("/timer", "compatible") == Names{"arm,armv8-timer", "arm,armv7-timer"});
  CHECK(dt.cells("/timer", "interrupts") == Cells{1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4});
  CHECK(dt.raw("/timer", "always-on").empty());
}

void check_apb_clock(const GuestDt& dt) {
  CHECK(dt.properties("/apb-pclk") ==
        Names{"compatible", "#clock-cells", "clock-frequency", "clock-output-names", "phandle"});
  CHECK(dt.string("/apb-pclk", "compatible") == "fixed-clock");
  CHECK(dt.cells("/apb-pclk", "#clock-cells") == Cells{0});
  CHECK(dt.cells("/apb-pclk", "clock-frequency") == Cells{24000000});
  CHECK(dt.string("/apb-pclk", "clock-output-names") == "clk24mhz");
  CHECK(dt.cells("/apb-pclk", "phandle") == Cells{guest_clock_phandle});
  CHECK(dt.phandle_target(guest_clock_phandle) == "apb-pclk");
}

void check_uart(const GuestDt& dt) {
  const std::string uart = "/pl011@9000000";
  CHECK(dt.properties(uart) == Names{"compatible", "reg", "interrupts", "clocks", "clock-names"});
  CHECK(dt.strings(uart, "compatible") == Names{"arm,pl011", "arm,primecell"});
  CHECK(dt.cells(uart, "reg") == Cells{0, 0x09000000, 0, 0x1000});
  CHECK(dt.cells(uart, "interrupts") == Cells{0, guest_uart_spi, 4});
  CHECK(dt.cells(uart, "clocks") == Cells{guest_clock_phandle, guest_clock_phandle});
  CHECK(dt.strings(uart, "clock-names") == Names{"uartclk", "apb_pclk"});
}

void check_rtc(const GuestDt& dt) {
  const std::string path = "/pl031@9010000";
  CHECK(dt.properties(path) == Names{"compatible", "reg", "interrupts", "clocks", "clock-names"});
  CHECK(dt.strings(path, "compatible") == Names{"arm,pl031", "arm,primecell"});
  CHECK(dt.cells(path, "reg") == Cells{0, 0x09010000, 0, 0x1000});
  CHECK(dt.cells(path, "interrupts") == Cells{0, 2, 4});
  CHECK(dt.cells(path, "clocks") == Cells{guest_clock_phandle});
  CHECK(dt.string(path, "clock-names") == "apb_pclk");
}

// Runs write_guest_dt into `capacity` bytes of aligned storage.
struct Attempt {
  bool ok = false;
  size_t size = 0;
  std::string message;
};
Attempt attempt(const GuestDtInput& input, size_t capacity = guest_dtb_reserve) {
  std::vector<uint64_t> storage(capacity / 8 + 1);
  GuestDtError error;
  Attempt result;
  result.ok = write_guest_dt(input, storage.data(), capacity, result.size, error);
  result.message = error.message;
  return result;
}

}  // namespace

TEST_CASE("guest dt: the default Linux partition") {
  const Partition partition = linux_partition();
  const GuestDtInput input = input_for(partition);
  CHECK(input.uart_spi == 1);
  const GuestDt dt(input);

  CHECK(dt.children("/") == Names{"chosen", "cpus", "psci", "memory@40000000", "intc@8000000", "timer", "apb-pclk",
                                  "pl011@9000000", "pl031@9010000"});
  check_common_nodes(dt, partition);
  check_apb_clock(dt);
  check_uart(dt);
  check_rtc(dt);

  CHECK(dt.properties("/chosen") ==
        Names{"bootargs", "stdout-path", "linux,initrd-start", "linux,initrd-end", "bulkhead,partition"});
  CHECK(dt.string("/chosen", "bootargs") == "console=ttyAMA0 earlycon");
  CHECK(dt.string("/chosen", "stdout-path") == "/pl011@9000000");
  CHECK(dt.has_node(dt.string("/chosen", "stdout-path")));
  // 1 GiB at 0x40000000: the DT area at 0x7fe00000, the initrd 4 KiB aligned below it.
  CHECK(input.placement.dtb_base == 0x7fe00000);
  CHECK(dt.u64("/chosen", "linux,initrd-start") == 0x7f60e000);
  CHECK(dt.u64("/chosen", "linux,initrd-end") == 0x7fe00000);
  CHECK(!dt.has_node("/pcie@3f000000"));
  CHECK(dt.size() < 4096);  // far below the 2 MiB reserve

  const std::string dts = dt.decompile("linux");
  CHECK(contains(dts, "\tcompatible = \"linux,dummy-virt\";\n"));
  CHECK(contains(dts, "\t\tstdout-path = \"/pl011@9000000\";\n"));
  CHECK(contains(dts, "\t\tbootargs = \"console=ttyAMA0 earlycon\";\n"));
  CHECK(contains(dts, "\t\tlinux,initrd-start = <0x00 0x7f60e000>;\n"));
  CHECK(contains(dts, "\t\tlinux,initrd-end = <0x00 0x7fe00000>;\n"));
  CHECK(contains(dts, "\t\tbulkhead,partition = \"linux\";\n"));
  CHECK(contains(dts, "\t\tmethod = \"hvc\";\n"));
  CHECK(contains(dts, "\t\treg = <0x00 0x40000000 0x00 0x40000000>;\n"));
  CHECK(contains(dts, "\t\treg = <0x00 0x8000000 0x00 0x10000 0x00 0x80a0000 0x00 0x40000>;\n"));
  CHECK(contains(dts, "\t\tinterrupts = <0x01 0x0d 0x04 0x01 0x0e 0x04 0x01 0x0b 0x04 0x01 0x0a 0x04>;\n"));
  CHECK(contains(dts, "\tpl031@9010000 {\n\t\tcompatible = \"arm,pl031\\0arm,primecell\";\n"));
  CHECK(contains(dts, "\t\tclock-names = \"uartclk\\0apb_pclk\";\n"));
}

TEST_CASE("guest dt: a bare-metal partition without console or initrd") {
  const Partition partition = bare_metal_partition();
  const GuestDt dt(input_for(partition));
  CHECK(dt.children("/") == Names{"chosen", "cpus", "psci", "memory@80000000", "intc@8000000", "timer"});
  check_common_nodes(dt, partition);
  // Neither bootargs, nor a console, nor an initrd: only the partition's name.
  CHECK(dt.properties("/chosen") == Names{"bulkhead,partition"});
  CHECK(dt.string("/chosen", "bulkhead,partition") == "heartbeat");

  const std::string dts = dt.decompile("heartbeat");
  CHECK(contains(dts, "\t\treg = <0x00 0x80000000 0x00 0x800000>;\n"));
  CHECK(!contains(dts, "stdout-path"));
  CHECK(!contains(dts, "linux,initrd"));
  CHECK(!contains(dts, "pl011"));
  CHECK(!contains(dts, "apb-pclk"));
}

TEST_CASE("guest dt: passed-through platform devices") {
  Partition partition = bare_metal_partition();
  SUBCASE("a primecell without a console still gets its apb_pclk") {
    partition.platform_devices[partition.platform_device_count++] = rtc();
    const GuestDt dt(input_for(partition));
    CHECK(dt.children("/") == Names{"chosen", "cpus", "psci", "memory@80000000", "intc@8000000", "timer",
                                    "apb-pclk", "pl031@9010000"});
    check_apb_clock(dt);
    check_rtc(dt);
    dt.decompile("rtc-without-console");
  }
  SUBCASE("other devices: every region and interrupt, no clock, named after the first compatible") {
    partition.platform_devices[partition.platform_device_count++] =
        platform_device("watchdog", std::string("arm,sbsa-gwdt\0generic-watchdog", 30),
                        {{0x100000000, 0x1000}, {0x100010000, 0x2000}}, {{48, 4}, {49, 1}});
    partition.platform_devices[partition.platform_device_count++] =
        platform_device("mailbox", "mailbox", {{0x0a000000, 0x1000}}, {});
    const GuestDt dt(input_for(partition));
    CHECK(dt.children("/") == Names{"chosen", "cpus", "psci", "memory@80000000", "intc@8000000", "timer",
                                    "sbsa-gwdt@100000000", "mailbox@a000000"});
    const std::string watchdog = "/sbsa-gwdt@100000000";
    CHECK(dt.properties(watchdog) == Names{"compatible", "reg", "interrupts"});
    CHECK(dt.strings(watchdog, "compatible") == Names{"arm,sbsa-gwdt", "generic-watchdog"});
    CHECK(dt.cells(watchdog, "reg") == Cells{1, 0, 0, 0x1000, 1, 0x10000, 0, 0x2000});
    CHECK(dt.cells(watchdog, "interrupts") == Cells{0, 48, 4, 0, 49, 1});
    CHECK(dt.properties("/mailbox@a000000") == Names{"compatible", "reg"});
    CHECK(dt.string("/mailbox@a000000", "compatible") == "mailbox");
    CHECK(dt.cells("/mailbox@a000000", "reg") == Cells{0, 0x0a000000, 0, 0x1000});
    dt.decompile("other-devices");
  }
}

TEST_CASE("guest dt: PCI functions add the virtual host bridge") {
  Partition partition = linux_partition();
  partition.pci_device_count = 2;  // only the count matters here
  GuestDtInput with_vpci = input_for(partition);
  CHECK_FALSE(GuestDt(with_vpci).has_node("/pcie@3f000000"));  // not without vPCI
  with_vpci.virtual_pci = true;
  const GuestDt dt(with_vpci);
  CHECK(dt.children("/") == Names{"chosen", "cpus", "psci", "memory@40000000", "intc@8000000", "timer", "apb-pclk",
                                  "pl011@9000000", "pl031@9010000", "pcie@3f000000"});
  check_common_nodes(dt, partition);
  const std::string pcie = "/pcie@3f000000";
  CHECK(dt.properties(pcie) == Names{"compatible", "device_type", "#address-cells", "#size-cells",
                                     "linux,pci-domain", "bus-range", "reg", "ranges", "dma-coherent"});
  CHECK(dt.string(pcie, "compatible") == "pci-host-ecam-generic");
  CHECK(dt.string(pcie, "device_type") == "pci");
  CHECK(dt.cells(pcie, "#address-cells") == Cells{3});
  CHECK(dt.cells(pcie, "#size-cells") == Cells{2});
  CHECK(dt.cells(pcie, "linux,pci-domain") == Cells{0});
  CHECK(dt.cells(pcie, "bus-range") == Cells{0, 15});  // 16 MiB of ECAM
  CHECK(dt.cells(pcie, "reg") == Cells{0, 0x3f000000, 0, 0x01000000});
  CHECK(dt.cells(pcie, "ranges") == Cells{0x02000000, 0, 0x10000000, 0, 0x10000000, 0, 0x2eff0000,  //
                                          0x03000000, 0x80, 0, 0x80, 0, 0x80, 0});
  CHECK(dt.raw(pcie, "dma-coherent").empty());
  CHECK(!dt.has(pcie, "interrupt-map"));  // INTx and MSI routing come with vPCI

  const std::string dts = dt.decompile("pci");
  CHECK(contains(dts, "\tpcie@3f000000 {\n\t\tcompatible = \"pci-host-ecam-generic\";\n"));
  CHECK(contains(dts, "\t\tbus-range = <0x00 0x0f>;\n"));
}

TEST_CASE("guest dt: CPU counts size the redistributor region") {
  for (size_t cpus : {size_t{8}, max_partition_cpus}) {
    CAPTURE(cpus);
    Partition partition = linux_partition();
    partition.cpu_count = cpus;
    for (size_t i = 0; i < cpus; ++i) partition.cpus[i] = {uint32_t(i), uint32_t(i)};
    const GuestDt dt(input_for(partition));
    check_common_nodes(dt, partition);  // cpu@0.., reg 0..n-1, n * 128 KiB of redistributors
    CHECK(dt.children("/cpus").size() == cpus);
    const std::string dts = dt.decompile("cpus-" + std::to_string(cpus));
    CHECK(contains(dts, cpus == 8 ? "\t\tcpu@7 {\n" : "\t\tcpu@f {\n"));
  }
}

// QEMU's DTB is the reference for what Linux accepts on this machine: the nodes the
// guest shares with it must say the same, and the timer PPIs come from the firmware.
TEST_CASE("guest dt: device nodes say what QEMU's virt DTB says") {
  const std::string path = std::string(BULKHEAD_TEST_WORK_DIR) + "/virt-plain-smp4-m2048.dtb";
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "missing " << path << ": the `dtb:` fixture tests make it");
  const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<uint64_t> storage(bytes.size() / 8 + 1);
  std::memcpy(storage.data(), bytes.data(), bytes.size());
  const void* qemu = storage.data();
  PlatformInfo platform;
  FirmwareDtError firmware_error;
  REQUIRE_MESSAGE(read_firmware_dt(qemu, bytes.size(), platform, firmware_error), firmware_error.message);

  Partition partition = linux_partition();
  partition.pci_device_count = 1;
  GuestDtInput input = input_for(partition);
  input.timer = platform.timer;
  input.virtual_pci = true;
  const GuestDt dt(input);

  auto qemu_raw = [&](const char* node, const char* name) {
    int length = 0;
    const void* value = fdt_getprop(qemu, fdt_path_offset(qemu, node), name, &length);
    REQUIRE_MESSAGE(value != nullptr, "QEMU's DTB has no " << node << " " << name);
    return std::string(static_cast<const char*>(value), static_cast<size_t>(length));
  };
  struct Same {
    const char* node;
    const char* property;
  };
  for (const Same& same : {Same{"/timer", "compatible"}, Same{"/timer", "interrupts"}, Same{"/timer", "always-on"},
                           Same{"/intc@8000000", "compatible"}, Same{"/intc@8000000", "#interrupt-cells"},
                           Same{"/intc@8000000", "interrupts"}, Same{"/intc@8000000", "#redistributor-regions"},
                           Same{"/pl011@9000000", "compatible"}, Same{"/pl011@9000000", "reg"},
                           Same{"/pl011@9000000", "interrupts"}, Same{"/pl011@9000000", "clock-names"},
                           Same{"/pl031@9010000", "compatible"}, Same{"/pl031@9010000", "reg"},
                           Same{"/pl031@9010000", "interrupts"}, Same{"/pl031@9010000", "clock-names"},
                           Same{"/apb-pclk", "compatible"}, Same{"/apb-pclk", "#clock-cells"},
                           Same{"/apb-pclk", "clock-frequency"}, Same{"/apb-pclk", "clock-output-names"},
                           Same{"/chosen", "stdout-path"}, Same{"/", "compatible"}, Same{"/", "#address-cells"},
                           Same{"/", "#size-cells"}, Same{"/pcie@10000000", "compatible"}}) {
    const std::string ours_node = std::strcmp(same.node, "/pcie@10000000") == 0 ? "/pcie@3f000000" : same.node;
    CAPTURE(same.node);
    CAPTURE(same.property);
    CHECK(dt.raw(ours_node, same.property) == qemu_raw(same.node, same.property));
  }
  // QEMU's bridge has an I/O window first; the memory windows are the same.
  const std::string qemu_ranges = qemu_raw("/pcie@10000000", "ranges");
  REQUIRE(qemu_ranges.size() == 3 * 7 * 4);
  CHECK(dt.raw("/pcie@3f000000", "ranges") == qemu_ranges.substr(7 * 4));
}

TEST_CASE("guest dt: the same input gives the same bytes") {
  const Partition partition = linux_partition();
  const GuestDt first(input_for(partition), 0x00);
  const GuestDt second(input_for(partition), 0xff);  // whatever the buffer held before
  CHECK(first.bytes() == second.bytes());
  Partition other = partition;
  other.payload.bootargs[0] = 'C';
  CHECK(GuestDt(input_for(other)).bytes() != first.bytes());
}

TEST_CASE("guest dt: a buffer too small is an error naming the size") {
  const Partition partition = linux_partition();
  const GuestDtInput input = input_for(partition);
  const size_t needed = GuestDt(input).size();

  const Attempt exact = attempt(input, needed);
  CHECK(exact.ok);
  CHECK(exact.size == needed);

  const Attempt short_by_one = attempt(input, needed - 1);
  CHECK(!short_by_one.ok);
  CHECK(short_by_one.size == 0);
  CHECK(short_by_one.message.rfind("partition linux: guest DT does not fit in " + std::to_string(needed - 1) +
                                       " bytes (at ",
                                   0) == 0);

  const Attempt tiny = attempt(input, 16);
  CHECK(!tiny.ok);
  CHECK(tiny.message == "partition linux: guest DT does not fit in 16 bytes (at header)");

  // More than the 2 MiB reserve is fine: only the reserve is used.
  CHECK(attempt(input, 2 * guest_dtb_reserve).ok);

  std::vector<uint64_t> storage(needed / 8 + 2);
  size_t size = 0;
  GuestDtError error;
  CHECK(!write_guest_dt(input, reinterpret_cast<uint8_t*>(storage.data()) + 4, needed, size, error));
  CHECK(std::string(error.message) == "partition linux: guest DT buffer is not 8-byte aligned");
}

TEST_CASE("guest dt: an inconsistent input is an error, not a bad tree") {
  struct Case {
    const char* expected;
    void (*spoil)(Partition&, GuestDtInput&);
  };
  const Case cases[] = {
      {"guest DT: no partition", [](Partition&, GuestDtInput& in) { in.partition = nullptr; }},
      {"partition linux: 0 CPUs, expected 1..16", [](Partition& p, GuestDtInput&) { p.cpu_count = 0; }},
      {"partition linux: 17 CPUs, expected 1..16", [](Partition& p, GuestDtInput&) { p.cpu_count = 17; }},
      {"partition linux: guest RAM 0x40000000 size 0x0 is empty or beyond the guest address space",
       [](Partition& p, GuestDtInput&) { p.ram.size = 0; }},
      {"partition linux: guest RAM 0xffffe00000 size 0x40000000 is empty or beyond the guest address space",
       [](Partition& p, GuestDtInput&) { p.ram.guest_base = guest_address_limit - 0x200000; }},
      {"partition linux: initrd 0x7f60e000..0x80000001 is not inside guest RAM",
       [](Partition&, GuestDtInput& in) { in.placement.initrd_end = 0x80000001; }},
      {"partition linux: the firmware described no timer",
       [](Partition&, GuestDtInput& in) { in.timer.present = false; }},
      {"partition linux: timer PPIs 13 14 27 10 are not all 0..15",  // an INTID, not a PPI number
       [](Partition&, GuestDtInput& in) { in.timer.virtual_ppi = 27; }},
      {"partition linux: device rtc is not resolved from the board",
       [](Partition& p, GuestDtInput&) { p.platform_devices[0].resolved = false; }},
      {"partition linux: device rtc has 0 MMIO regions, expected 1..2",
       [](Partition& p, GuestDtInput&) { p.platform_devices[0].region_count = 0; }},
      {"partition linux: device rtc has no well-formed compatible list",
       [](Partition& p, GuestDtInput&) {
         p.platform_devices[0].compatible_length = 9;  // "arm,pl031" without its NUL
         p.platform_devices[0].compatible[8] = '1';
       }},
      {"partition linux: device rtc SPI 1 is the virtual UART's",
       [](Partition& p, GuestDtInput&) { p.platform_devices[0].interrupts[0].spi = guest_uart_spi; }},
      {"partition linux: device rtc SPI 2 flags 8: GICv3 SPIs are edge rising (1) or level high (4)",
       [](Partition& p, GuestDtInput&) { p.platform_devices[0].interrupts[0].flags = 8; }},
      {"partition linux: device rtc SPI 988 is above 987",
       [](Partition& p, GuestDtInput&) { p.platform_devices[0].interrupts[0].spi = 988; }},
      {"partition linux: devices rtc and rtc2 would both be named pl031@9010000",
       [](Partition& p, GuestDtInput&) {
         p.platform_devices[p.platform_device_count] = rtc();
         std::strcpy(p.platform_devices[p.platform_device_count++].device, "rtc2");
       }},
      {"partition linux: device uart1 would be named like the virtual UART, pl011@9000000",
       [](Partition& p, GuestDtInput&) {
         p.platform_devices[0] = platform_device("uart1", std::string("arm,pl011\0arm,primecell", 23),
                                                 {{0x09000000, 0x1000}}, {{7, 4}});
       }},
  };
  for (const Case& bad : cases) {
    CAPTURE(bad.expected);
    Partition partition = linux_partition();
    GuestDtInput input = input_for(partition);
    bad.spoil(partition, input);
    const Attempt result = attempt(input);
    CHECK(!result.ok);
    CHECK(result.size == 0);
    CHECK(result.message == bad.expected);
  }
}
