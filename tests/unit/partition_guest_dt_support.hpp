// Test support for the guest device-tree generator tests: typical partitions, inputs,
// a libfdt reader of the produced blob (GuestDt) and the checks every tree must pass.
#pragma once

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


namespace bulkhead::partitions::guest_dt_test {

using Cells = std::vector<uint32_t>;
using Names = std::vector<std::string>;

constexpr uint64_t gib = uint64_t{1} << 30;

// QEMU virt's architected timer PPIs (secure physical, physical, virtual, hypervisor).
inline TimerInfo qemu_timer() {
  TimerInfo timer;
  timer.present = true;
  timer.secure_physical_ppi = 13;
  timer.physical_ppi = 14;
  timer.virtual_ppi = 11;
  timer.hypervisor_ppi = 10;
  return timer;
}

// A board device as the rules resolve it; `compatible` is a NUL-separated list.
inline PlatformDeviceRef platform_device(const char* device, const std::string& compatible, std::vector<AddressRange> regions,
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

inline PlatformDeviceRef rtc() {
  return platform_device("rtc", std::string("arm,pl031\0arm,primecell", 23), {{0x09010000, 0x1000}}, {{2, 4}});
}

// The default configuration's Linux partition: 2 CPUs, 1 GiB, Image + initrd, console, RTC.
inline Partition linux_partition() {
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
inline Partition bare_metal_partition() {
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

inline GuestDtInput input_for(const Partition& partition) {
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

inline bool contains(const std::string& text, const std::string& line) { return text.find(line) != std::string::npos; }

// The nodes every partition has, whatever it uses.
inline void check_common_nodes(const GuestDt& dt, const Partition& partition) {
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

inline void check_apb_clock(const GuestDt& dt) {
  CHECK(dt.properties("/apb-pclk") ==
        Names{"compatible", "#clock-cells", "clock-frequency", "clock-output-names", "phandle"});
  CHECK(dt.string("/apb-pclk", "compatible") == "fixed-clock");
  CHECK(dt.cells("/apb-pclk", "#clock-cells") == Cells{0});
  CHECK(dt.cells("/apb-pclk", "clock-frequency") == Cells{24000000});
  CHECK(dt.string("/apb-pclk", "clock-output-names") == "clk24mhz");
  CHECK(dt.cells("/apb-pclk", "phandle") == Cells{guest_clock_phandle});
  CHECK(dt.phandle_target(guest_clock_phandle) == "apb-pclk");
}

inline void check_uart(const GuestDt& dt) {
  const std::string uart = "/pl011@9000000";
  CHECK(dt.properties(uart) == Names{"compatible", "reg", "interrupts", "clocks", "clock-names"});
  CHECK(dt.strings(uart, "compatible") == Names{"arm,pl011", "arm,primecell"});
  CHECK(dt.cells(uart, "reg") == Cells{0, 0x09000000, 0, 0x1000});
  CHECK(dt.cells(uart, "interrupts") == Cells{0, guest_uart_spi, 4});
  CHECK(dt.cells(uart, "clocks") == Cells{guest_clock_phandle, guest_clock_phandle});
  CHECK(dt.strings(uart, "clock-names") == Names{"uartclk", "apb_pclk"});
}

inline void check_rtc(const GuestDt& dt) {
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
inline Attempt attempt(const GuestDtInput& input, size_t capacity = guest_dtb_reserve) {
  std::vector<uint64_t> storage(capacity / 8 + 1);
  GuestDtError error;
  Attempt result;
  result.ok = write_guest_dt(input, storage.data(), capacity, result.size, error);
  result.message = error.message;
  return result;
}

}  // namespace bulkhead::partitions::guest_dt_test
