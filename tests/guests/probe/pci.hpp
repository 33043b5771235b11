// The probe's view of its virtual PCI bus: configuration accesses through the ECAM its
// device tree names, the functions it finds on bus 0, their BARs as sizing finds them,
// and where the probe places them in the bridge's windows. Shared by the pci-* tests
// (test_pci*.cpp) and the bench.
#pragma once

#include <cstdint>

#include "fdt.hpp"

namespace probe::pci {

// Type 0 header registers (PCI Local Bus 3.0, 6.2) and the fields the tests use.
namespace reg {
constexpr uint16_t vendor_device = 0x00;
constexpr uint16_t command = 0x04;
constexpr uint16_t status = 0x06;
constexpr uint16_t class_revision = 0x08;
constexpr uint16_t cache_line_size = 0x0c;
constexpr uint16_t latency_timer = 0x0d;
constexpr uint16_t header_type = 0x0e;
constexpr uint16_t bist = 0x0f;
constexpr uint16_t bar0 = 0x10;
constexpr uint16_t subsystem_ids = 0x2c;
constexpr uint16_t rom = 0x30;
constexpr uint16_t capability_pointer = 0x34;
constexpr uint16_t reserved_dword = 0x38;
constexpr uint16_t interrupt_line = 0x3c;
constexpr uint16_t interrupt_pin = 0x3d;
constexpr uint16_t extended_first = 0x100;
}  // namespace reg

constexpr uint16_t command_io = 1u << 0;
constexpr uint16_t command_memory = 1u << 1;
constexpr uint16_t command_bus_master = 1u << 2;
constexpr uint16_t command_intx_disable = 1u << 10;
// Every bit but those four: SERR, parity, memory write and invalidate, and the rest.
constexpr uint16_t command_other_bits =
    static_cast<uint16_t>(~(command_io | command_memory | command_bus_master | command_intx_disable));
constexpr uint16_t status_interrupt = 1u << 3;
constexpr uint16_t status_capability_list = 1u << 4;
constexpr uint8_t header_multi_function = 0x80;

constexpr uint32_t bar_io_space = 0x1;
constexpr uint32_t bar_type_mask = 0x6;
constexpr uint32_t bar_type_64bit = 0x4;
constexpr uint32_t bar_prefetchable = 0x8;
constexpr uint32_t bar_memory_flags = 0xf;
constexpr uint32_t bar_io_flags = 0x3;
constexpr uint32_t rom_sizing = 0xfffff800u | 1u;  // address bits and the enable bit

constexpr uint8_t capability_pm = 0x01;
constexpr uint8_t capability_msi = 0x05;
constexpr uint8_t capability_pcie = 0x10;
constexpr uint8_t capability_msix = 0x11;
constexpr uint16_t pcie_device_capabilities = 0x04;  // from the PCI Express capability
constexpr uint16_t pcie_device_control = 0x08;
constexpr uint32_t pcie_device_capabilities_flr = 1u << 28;
constexpr uint16_t pcie_device_control_initiate_flr = 1u << 15;
constexpr uint16_t pm_control_status = 0x04;  // from the PM capability
constexpr uint16_t pm_power_state_mask = 0x3;
constexpr uint16_t pm_d3hot = 0x3;

constexpr uint8_t bar_slots = 6;
constexpr uint8_t bus_slots = 32;
constexpr uint32_t absent = 0xffffffffu;

enum class BarKind : uint8_t { none, io, mem32, mem64 };

struct Bar {
  BarKind kind = BarKind::none;
  bool prefetchable = false;
  uint64_t size = 0;
  uint64_t address = 0;  // where the probe put it: guest-physical, or the I/O port
};

struct Function {
  uint8_t slot = 0;
  uint16_t vendor = 0;
  uint16_t device = 0;
  uint32_t class_code = 0;  // base class, subclass, programming interface
  Bar bars[bar_slots];
  bool sized = false;
};

struct Bus {
  static constexpr uint32_t max_functions = 8;
  Function functions[max_functions];
  uint32_t count = 0;
  uint32_t absent_slots = 0;
  bool scanned = false;
  bool placed = false;
};

// The host bridge the device tree describes (settings().guest.pci).
const PciHostInfo& host();

// Bus 0, function 0 of `slot` (or any bus/function with the long form), through the ECAM.
uint64_t config_address(uint8_t bus, uint8_t slot, uint8_t function, uint16_t offset);
uint32_t read32(uint8_t slot, uint16_t offset);
uint16_t read16(uint8_t slot, uint16_t offset);
uint8_t read8(uint8_t slot, uint16_t offset);
void write32(uint8_t slot, uint16_t offset, uint32_t value);
void write16(uint8_t slot, uint16_t offset, uint16_t value);
void write8(uint8_t slot, uint16_t offset, uint8_t value);

// Bus 0 as the first call found it: every slot's function 0 with a vendor ID.
Bus& scan();
Function* find(uint16_t vendor, uint16_t device);

// Sizes every BAR of `f` by writing all ones (decode off), restoring the registers.
// Prints a FAIL line and returns false on an inconsistent answer.
bool size_bars(Function& f);

// Sizes and places every BAR of every function (probe.pci-place=SLOT:BAR@ADDR,... first,
// the rest packed by size in the windows), writes them, and turns on memory and I/O
// decode where a function has such BARs. Once; false after a FAIL line.
bool place_all();

// The first address place_all() gives a 32-bit memory BAR (the largest one goes there).
uint64_t first_mem32_placement();

// Where the CPU reaches a placed BAR: the guest-physical address, or for an I/O BAR the
// I/O window's CPU address plus the port.
uint64_t bar_address(const Function& f, uint8_t bar);
// Writes BAR `bar` (and its upper half for a 64-bit one) with `address`.
void write_bar(const Function& f, uint8_t bar, uint64_t address);

// The SPI the device tree routes (slot, pin) to, or nullptr.
const PciIntxRoute* intx_route(uint8_t slot, uint8_t pin);

const char* kind_name(BarKind kind);
// "00:SS.0" for result lines.
void put_vbdf(uint8_t slot);

}  // namespace probe::pci
