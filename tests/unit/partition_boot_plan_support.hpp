// Test support for the boot plan tests (partition_boot_plan_test.cpp,
// partition_boot_plan_reset_test.cpp): a machine with CPUs, RAM and PCI functions,
// partitions and selectors, a package of recognisable payloads, fake host RAM, and a run
// of plan_partitions and load_partitions that captures the log.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "core/lib/crc32.hpp"
#include "core/lib/log.hpp"
#include "partitions/boot_plan.hpp"

namespace bulkhead::partitions::boot_plan_test {

struct CapturedLines final : log::LineSink {
  std::string text;
  void write_line(const char* line, size_t length) override { text.append(line, length); }
  bool has(const std::string& line) const { return text.find(line + "\n") != std::string::npos; }
};

constexpr uint64_t machine_ram_base = 0x40000000;
constexpr uint64_t machine_ram_size = 0x80000000;

// A machine with 4 CPUs, 2 GiB, and a PCI segment with a host bridge, a root port,
// two e1000e (one unusable) and an NVMe.
struct Machine {
  PlatformInfo platform;
  pci::PciTopology topology;
  MachineFacts facts;

  Machine() {
    platform.cpu_count = 4;
    for (size_t i = 0; i < 4; ++i) platform.cpus[i].mpidr = i;
    platform.ram[0] = {machine_ram_base, machine_ram_size};
    platform.ram_count = 1;
    platform.timer = {true, 13, 14, 11, 10};
    topology.clear();
    topology.segment_count = 1;
    topology.segments[0].number = 0;
    add({0, 0, 0}, 0x1b36, 0x0008, pci::FunctionKind::host_bridge, 0, 0);
    add({0, 1, 0}, 0x1b36, 0x000c, pci::FunctionKind::root_port, 1, 4);
    add({1, 0, 0}, 0x8086, 0x10d3, pci::FunctionKind::endpoint, 1, 5);
    add({0, 2, 0}, 0x8086, 0x10d3, pci::FunctionKind::endpoint, 1, 5);
    add({0, 3, 0}, 0x1b36, 0x0010, pci::FunctionKind::endpoint, 1, 6);
    topology.functions[3].usable = false;  // second e1000e: BARs not placed
    topology.segments[0].function_count = static_cast<uint16_t>(topology.function_count);
    facts.platform = &platform;
    facts.pci = &topology;
    for (size_t i = 0; i < 4; ++i) facts.cpu_online[i] = true;
    facts.hypervisor_ranges[0] = {0x40000000, 0x4000000};
    facts.hypervisor_range_count = 1;
  }

  void add(pci::Bdf bdf, uint16_t vendor, uint16_t device, pci::FunctionKind kind, uint8_t pin, uint32_t spi) {
    pci::Function& f = topology.functions[topology.function_count++];
    f = pci::Function();
    f.address = {0, bdf};
    f.vendor_id = vendor;
    f.device_id = device;
    f.kind = kind;
    f.header_type = kind == pci::FunctionKind::root_port ? 1 : 0;
    f.interrupt.pin = pin;
    f.interrupt.routed = pin != 0;
    f.interrupt.spi = spi;
    f.bars[0].kind = pci::BarKind::mem32;
    f.bars[0].size = 0x20000;
    f.bars[0].cpu_address = 0x10000000 + 0x100000 * topology.function_count;
    if (kind == pci::FunctionKind::endpoint) {  // as enumeration finds a PCI Express endpoint with FLR
      f.reset = {pci::ResetMethod::flr, pci::ResetReason::device_capabilities,
                 pci::ResetChoice::bit(pci::ResetMethod::flr)};
    }
  }
};

inline Partition make_partition(const char* name, std::initializer_list<uint32_t> cpus, uint64_t host_base) {
  Partition p;
  std::strncpy(p.name, name, max_partition_name);
  for (uint32_t cpu : cpus) p.cpus[p.cpu_count++] = {cpu, cpu};
  p.ram = {true, 0x1000000, true, true, host_base, default_guest_ram_base};
  p.payload.present = true;
  p.payload.format = PayloadFormat::raw;
  p.payload.resolved = true;
  p.payload.has_load_offset = true;
  p.payload.load_offset = 0;
  return p;
}

inline void select_sbdf(Partition& p, pci::Bdf bdf, uint32_t slot) {
  PciDeviceSelector& s = p.pci_devices[p.pci_device_count];
  std::snprintf(s.node, sizeof(s.node), "pci-device@%zu", p.pci_device_count);
  s.has_sbdf = true;
  s.sbdf = {0, bdf};
  s.slot_assigned = true;
  s.guest_slot = slot;
  ++p.pci_device_count;
}

inline void select_ids(Partition& p, uint16_t vendor, uint16_t device, uint32_t instance, uint32_t slot) {
  PciDeviceSelector& s = p.pci_devices[p.pci_device_count];
  std::snprintf(s.node, sizeof(s.node), "pci-device@%zu", p.pci_device_count);
  s.has_ids = true;
  s.has_instance = true;
  s.vendor = vendor;
  s.device = device;
  s.instance = instance;
  s.slot_assigned = true;
  s.guest_slot = slot;
  ++p.pci_device_count;
}

// The package of `description`: a dummy description entry, then per partition a kernel
// (and an initrd when it has one) with recognisable bytes.
struct TestPackage {
  std::vector<std::vector<uint8_t>> payloads;
  std::vector<uint8_t> blob;
  Package package;

  explicit TestPackage(SystemDescription& description) {
    std::vector<PackageInput> inputs;
    static const uint8_t fake_description[64] = {0xd0, 0x0d, 0xfe, 0xed};
    inputs.push_back({EntryKind::description, no_partition, fake_description, sizeof(fake_description)});
    payloads.reserve(2 * max_partitions);
    for (size_t i = 0; i < description.partition_count; ++i) {
      Payload& payload = description.partitions[i].payload;
      std::snprintf(payload.file, sizeof(payload.file), "kernel-%zu.bin", i);
      payloads.emplace_back(0x3000 + 0x100 * i, static_cast<uint8_t>(0x11 * (i + 1)));
      payload.kernel_entry = static_cast<uint32_t>(inputs.size());
      payload.file_size = payload.load_size = payloads.back().size();
      inputs.push_back({EntryKind::kernel, static_cast<uint32_t>(i), payloads.back().data(), payloads.back().size()});
      if (payload.has_initrd) {
        std::snprintf(payload.initrd, sizeof(payload.initrd), "initrd-%zu.gz", i);
        payloads.emplace_back(0x1800, static_cast<uint8_t>(0xa0 + i));
        payload.initrd_entry = static_cast<uint32_t>(inputs.size());
        payload.initrd_size = payloads.back().size();
        inputs.push_back({EntryKind::initrd, static_cast<uint32_t>(i), payloads.back().data(), payloads.back().size()});
      }
    }
    blob.resize(package_size(inputs.data(), inputs.size()) + 8);
    // A DTB-bearing package must be 8-byte aligned in memory.
    uint8_t* aligned = blob.data() + ((8 - reinterpret_cast<uintptr_t>(blob.data()) % 8) % 8);
    PackageError error;
    REQUIRE(write_package(inputs.data(), inputs.size(), aligned, blob.size() - 8, error));
    REQUIRE(open_package(aligned, package_size(inputs.data(), inputs.size()), package, error));
  }
  void corrupt(uint32_t entry) { const_cast<uint8_t*>(package.entry_data(entry))[7] ^= 1; }
};

// Host RAM as a flat array; optionally damages what it copies.
class FakeRam final : public GuestLoader {
 public:
  FakeRam() : bytes_(machine_ram_size / 16, 0xee) {}  // enough for the partitions used here
  void scrub(uint64_t host, uint64_t size) override { std::memset(at(host, size), 0, size); }
  void copy(uint64_t host, const void* data, uint64_t size) override {
    std::memcpy(at(host, size), data, size);
    if (damage_copies) at(host, size)[0] ^= 0xff;
  }
  uint32_t crc32(uint64_t host, uint64_t size) override { return bulkhead::crc32(at(host, size), size); }
  uint8_t* at(uint64_t host, uint64_t size) {
    REQUIRE(host >= base);
    REQUIRE(host + size <= base + bytes_.size());
    return bytes_.data() + (host - base);
  }
  bool damage_copies = false;
  static constexpr uint64_t base = 0x44000000;

 private:
  std::vector<uint8_t> bytes_;
};

struct Run {
  CapturedLines lines;
  BootPlan plan;
  FakeRam ram;
  void go(SystemDescription& description, TestPackage& package, const Machine& machine) {
    log::LineSink* previous = log::set_output(&lines);
    plan_partitions(description, machine.facts, plan);
    load_partitions(description, package.package, machine.facts, ram, plan);
    log::set_output(previous);
  }
};

}  // namespace bulkhead::partitions::boot_plan_test
