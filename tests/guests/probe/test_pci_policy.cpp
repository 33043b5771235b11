// What the virtual PCI bus lets a guest do to its functions (tests/README.md):
//   pci-forbidden   writes the guest may not make reach the function, each read back
//                   through the hypervisor's view (the harness reads the function's own
//                   registers through QMP): header bytes, command bits, the capability
//                   pointer, Interrupt Pin, the ROM BAR, identity, hidden capabilities
//                   (probe.pci-hidden=SLOT@0xOFFSET,...), Initiate FLR, D3hot, the
//                   extended space; only PCI Express and PM in the capability list;
//   pci-intx        edu's factorial interrupt through the device tree's interrupt-map:
//                   held back by INTx disable, taken once enabled;
//   pci-bus-master  Bus Master Enable and an edu DMA round trip through guest RAM:
//                   with probe.pci-bus-master=on the copy arrives, with =withheld
//                   (no SMMU) nothing reaches RAM;
//   pci-hold        prints each function's command register and waits for a byte on
//                   its console, so the harness can inspect the machine meanwhile;
//   park            never returns (a partition that keeps its functions decoding).
#include "console.hpp"
#include "gic.hpp"
#include "pci.hpp"
#include "qemu_devices.hpp"
#include "tests.hpp"

namespace probe {
namespace {

using pci::Function;

constexpr uint8_t interrupt_line_scratch = 0x5a;
constexpr uint8_t cache_line_size_written = 0x10;  // the first unhandled write of each function
constexpr uint32_t extended_written = 0xdeadbeef;

bool check_byte(const Function& f, const char* what, uint16_t offset, uint8_t written, uint8_t expected) {
  pci::write8(f.slot, offset, written);
  return expect_hex(what, pci::read8(f.slot, offset), expected);
}

struct CapabilityList {
  static constexpr uint32_t capacity = 8;
  uint8_t offset[capacity];
  uint8_t id[capacity];
  uint32_t count = 0;
};

// The capability list the guest sees: only PM, PCI Express and the emulated MSI and
// MSI-X (where the machine routes MSIs; probe.pci-hidden names where it must not); FLR is
// not offered, and neither Initiate FLR nor D3hot is taken.
bool check_capabilities(const Function& f, CapabilityList& list) {
  uint8_t at = pci::read8(f.slot, pci::reg::capability_pointer);
  while (at != 0) {
    const uint8_t id = pci::read8(f.slot, at);
    if (list.count == CapabilityList::capacity || (id != pci::capability_pm && id != pci::capability_pcie &&
                                                   id != pci::capability_msi && id != pci::capability_msix)) {
      begin_fail();
      put_text("capability ");
      put_hex(id);
      put_text(" at ");
      put_hex(at);
      put_text(" is linked; only PM (0x1), PCI Express (0x10), MSI (0x5) and MSI-X (0x11) may be, once each");
      end_line();
      return false;
    }
    list.offset[list.count] = at;
    list.id[list.count++] = id;
    if (id == pci::capability_pcie) {
      const uint32_t caps = pci::read32(f.slot, at + pci::pcie_device_capabilities);
      const uint16_t control_at = static_cast<uint16_t>(at + pci::pcie_device_control);
      const uint16_t control = pci::read16(f.slot, control_at);
      pci::write16(f.slot, control_at, static_cast<uint16_t>(control | pci::pcie_device_control_initiate_flr));
      const uint16_t after = pci::read16(f.slot, control_at);
      if (!expect_hex("Device Capabilities FLR", caps & pci::pcie_device_capabilities_flr, 0) ||
          !expect_hex("Device Control after writing Initiate FLR", after, control)) {
        return false;
      }
    }
    if (id == pci::capability_pm) {
      const uint16_t control_at = static_cast<uint16_t>(at + pci::pm_control_status);
      const uint16_t control = pci::read16(f.slot, control_at);
      pci::write16(f.slot, control_at, static_cast<uint16_t>((control & ~pci::pm_power_state_mask) | pci::pm_d3hot));
      if (!expect_hex("PMCSR power state after writing D3hot", pci::read16(f.slot, control_at) & pci::pm_power_state_mask,
                      control & pci::pm_power_state_mask)) {
        return false;
      }
    }
    at = pci::read8(f.slot, static_cast<uint16_t>(at + 1));
  }
  return true;
}

// probe.pci-hidden=SLOT@0xOFFSET,...: where the function has an MSI or MSI-X capability
// the guest must not see. Setting its enable bits must change nothing.
bool check_hidden(const Function& f, uint32_t& written) {
  Text list = bootarg(settings().guest.bootargs, "probe.pci-hidden");
  written = 0;
  while (!list.empty()) {
    Text item = next_item(list, ',');
    const Text slot_text = next_item(item, '@');
    uint64_t slot = 0;
    uint64_t offset = 0;
    if (!parse_number(slot_text, slot) || !parse_number(item, offset) || offset < 0x40 || offset > 0xfc) {
      fail("bad probe.pci-hidden item (want SLOT@0xOFFSET)");
      return false;
    }
    if (slot != f.slot) continue;
    const auto at = static_cast<uint16_t>(offset);
    // MSI Enable (bit 0) and MSI-X Enable (bit 15) of Message Control.
    pci::write16(f.slot, static_cast<uint16_t>(at + 2), 0x8001);
    if (!expect_hex("hidden capability after enabling it", pci::read32(f.slot, at), 0)) return false;
    ++written;
  }
  return true;
}

// A known register of `f` still answers (no FLR or D3hot took it away: its BARs would
// be cleared, and the host bridge answers an unclaimed read with all ones).
bool still_alive(const Function& f) {
  if (f.vendor == edu::vendor && f.device == edu::device) {
    return expect_hex("edu identification after the forbidden writes", read32(pci::bar_address(f, 0)),
                      edu::identification_value);
  }
  if (f.vendor == e1000e::vendor && f.device == e1000e::device) {
    return expect_hex("e1000e RAH0 valid bit and reserved bits after the forbidden writes",
                      read32(pci::bar_address(f, 0) + e1000e::rah0) & (e1000e::rah_valid | e1000e::rah_reserved),
                      e1000e::rah_valid);
  }
  return true;
}

bool check_forbidden(const Function& f) {
  // Cache line size first: the hypervisor logs the first unhandled write per function.
  if (!check_byte(f, "cache line size (not emulated)", pci::reg::cache_line_size, cache_line_size_written, 0) ||
      !check_byte(f, "latency timer", pci::reg::latency_timer, 0x40, 0) ||
      !check_byte(f, "BIST (start)", pci::reg::bist, 0x40, 0) ||
      !check_byte(f, "header type", pci::reg::header_type, 0x80, 0)) {
    return false;
  }
  const uint16_t command = pci::read16(f.slot, pci::reg::command);
  pci::write16(f.slot, pci::reg::command, static_cast<uint16_t>(command | pci::command_other_bits));
  if (!expect_hex("command after setting the non-guest bits", pci::read16(f.slot, pci::reg::command), command)) return false;
  const uint8_t pointer = pci::read8(f.slot, pci::reg::capability_pointer);
  const uint32_t identity = pci::read32(f.slot, pci::reg::vendor_device);
  const uint32_t class_revision = pci::read32(f.slot, pci::reg::class_revision);
  const uint32_t subsystem = pci::read32(f.slot, pci::reg::subsystem_ids);
  const PciIntxRoute* route = pci::intx_route(f.slot, 1);
  const uint8_t pin = route != nullptr ? 1 : 0;  // what the DT routes: INTA, or nothing
  pci::write32(f.slot, pci::reg::vendor_device, 0);
  pci::write32(f.slot, pci::reg::class_revision, 0);
  pci::write32(f.slot, pci::reg::subsystem_ids, 0);
  pci::write32(f.slot, pci::reg::rom, pci::rom_sizing);
  pci::write32(f.slot, pci::reg::reserved_dword, 0xffffffffu);
  if (!check_byte(f, "capability pointer", pci::reg::capability_pointer, 0xfc, pointer) ||
      !check_byte(f, "Interrupt Pin", pci::reg::interrupt_pin, 4, pin) ||
      !check_byte(f, "Interrupt Line (scratch)", pci::reg::interrupt_line, interrupt_line_scratch,
                  interrupt_line_scratch) ||
      !expect_hex("vendor/device after writing 0", pci::read32(f.slot, pci::reg::vendor_device), identity) ||
      !expect_hex("class/revision after writing 0", pci::read32(f.slot, pci::reg::class_revision), class_revision) ||
      !expect_hex("subsystem IDs after writing 0", pci::read32(f.slot, pci::reg::subsystem_ids), subsystem) ||
      !expect_hex("ROM BAR after writing it (hidden)", pci::read32(f.slot, pci::reg::rom), 0) ||
      !expect_hex("reserved dword 0x38", pci::read32(f.slot, pci::reg::reserved_dword), 0)) {
    return false;
  }
  uint32_t hidden = 0;
  if (!check_hidden(f, hidden)) return false;
  pci::write32(f.slot, pci::reg::extended_first, extended_written);
  if (!expect_hex("extended space at 0x100 (empty list)", pci::read32(f.slot, pci::reg::extended_first), 0)) return false;
  CapabilityList capabilities;
  if (!check_capabilities(f, capabilities)) return false;
  const uint16_t status = pci::read16(f.slot, pci::reg::status);
  if (!expect_hex("status capability-list bit", status & pci::status_capability_list,
                  capabilities.count != 0 ? pci::status_capability_list : 0) ||
      !still_alive(f)) {
    return false;
  }
  begin_pass();
  pci::put_vbdf(f.slot);
  put_text(" caps");
  if (capabilities.count == 0) put_text(" none");
  for (uint32_t i = 0; i < capabilities.count; ++i) {
    put(' ');
    put_hex(capabilities.offset[i]);
    put(':');
    put_hex(capabilities.id[i]);
  }
  put_text(" hidden ");
  put_decimal(hidden);
  put_text(" pin ");
  put_decimal(pin);
  put_text(" line ");
  put_hex(interrupt_line_scratch);
  put_text("; dropped: header bytes, command bits, pointer, pin, ids, rom, reserved, extended");
  end_line();
  return true;
}

// edu's factorial interrupt: the handler acknowledges it (the line drops) before the EOI.
uint64_t edu_base = 0;
volatile uint32_t edu_irq_seen = 0;

void acknowledge_edu(uint32_t) {
  const uint32_t status = read32(edu_base + edu::irq_status);
  edu_irq_seen = status;
  write32(edu_base + edu::irq_acknowledge, status);
}

bool wait_edu_idle() {
  return wait_for([] { return (read32(edu_base + edu::status) & edu::status_computing) == 0; }, 1000000);
}

bool run_intx(const Function& edu, const PciIntxRoute& route) {
  const uint32_t intid = 32 + route.spi;
  if (intid >= gic::IrqRecord::tracked) {
    fail("the INTx SPI is beyond what the probe's handler counts");
    return false;
  }
  gic::IrqRecord& r = gic::record(0);
  gic::init_this_cpu();
  gic::set_hook(intid, acknowledge_edu);
  const uint64_t d = gic::distributor;
  write8(d + gic::ipriorityr + intid, 0xa0);
  write32(d + gic::isenabler + uint64_t{4} * (intid / 32), 1u << (intid % 32));
  const uint16_t command = pci::read16(edu.slot, pci::reg::command);
  pci::write16(edu.slot, pci::reg::command, static_cast<uint16_t>(command | pci::command_intx_disable));
  const uint32_t before = r.count[intid];
  write32(edu_base + edu::status, edu::status_irq_on_factorial);
  write32(edu_base + edu::factorial, 5);
  irqs_on();
  const bool idle = wait_edu_idle();
  // edu raises its line right after the computation; then give an interrupt INTx
  // disable should hold back time to arrive.
  const uint8_t slot = edu.slot;
  wait_for([slot] { return (pci::read16(slot, pci::reg::status) & pci::status_interrupt) != 0; }, 1000000);
  delay_us(20000);
  const uint32_t held = since(r.count[intid], before);
  const uint16_t status_held = pci::read16(edu.slot, pci::reg::status);
  pci::write16(edu.slot, pci::reg::command, static_cast<uint16_t>(command & ~pci::command_intx_disable));
  const bool taken = wait_change(r.count[intid], before, 1000000);
  delay_us(20000);
  irqs_off();
  const uint32_t count = since(r.count[intid], before);
  const uint16_t status_after = pci::read16(edu.slot, pci::reg::status);
  write32(d + gic::icenabler + uint64_t{4} * (intid / 32), 1u << (intid % 32));
  write32(edu_base + edu::status, 0);
  return expect_hex("edu factorial finished", idle ? 1 : 0, 1) &&
         expect_hex("edu factorial of 5", read32(edu_base + edu::factorial), 120) &&
         expect_hex("interrupts taken with INTx disabled", held, 0) &&
         expect_hex("status.interrupt while INTx is disabled", status_held & pci::status_interrupt, pci::status_interrupt) &&
         expect_hex("interrupt taken once INTx is enabled", taken ? 1 : 0, 1) &&
         expect_hex("interrupts taken", count, 1) &&
         expect_hex("edu interrupt status seen by the handler", edu_irq_seen, edu::irq_factorial) &&
         expect_hex("status.interrupt after the acknowledgement", status_after & pci::status_interrupt, 0);
}

// DMA buffers in guest RAM: IOVA = guest-physical (the partition's SMMU context).
alignas(4096) volatile uint8_t dma_source[256];
alignas(4096) volatile uint8_t dma_destination[256];

bool run_dma(uint64_t source, uint64_t destination, uint64_t direction) {
  write64(edu_base + edu::dma_source, source);
  write64(edu_base + edu::dma_destination, destination);
  write64(edu_base + edu::dma_count, sizeof(dma_source));
  write64(edu_base + edu::dma_command, edu::dma_run | direction);
  return wait_for([] { return (read64(edu_base + edu::dma_command) & edu::dma_run) == 0; }, 5000000);
}

}  // namespace

void test_pci_forbidden() {
  if (!pci::place_all()) return;
  pci::Bus& bus = pci::scan();
  for (uint32_t i = 0; i < bus.count; ++i) {
    if (!check_forbidden(bus.functions[i])) return;
  }
}

void test_pci_intx() {
  if (!pci::place_all()) return;
  const Function* edu = pci::find(edu::vendor, edu::device);
  if (edu == nullptr) {
    fail("no edu function");
    return;
  }
  const PciIntxRoute* route = pci::intx_route(edu->slot, 1);
  if (route == nullptr) {
    fail("the device tree's interrupt-map has no entry for edu's INTA");
    return;
  }
  edu_base = pci::bar_address(*edu, 0);
  if (!run_intx(*edu, *route)) return;
  begin_pass();
  pci::put_vbdf(edu->slot);
  put_text(" INTA -> spi ");
  put_decimal(route->spi);
  put_text(": factorial 5 = 120; held back by INTx disable (status.interrupt set), taken once when enabled");
  end_line();
}

void test_pci_bus_master() {
  if (!pci::place_all()) return;
  const Function* edu = pci::find(edu::vendor, edu::device);
  if (edu == nullptr) {
    fail("no edu function");
    return;
  }
  const Text mode = bootarg(settings().guest.bootargs, "probe.pci-bus-master");
  const bool expect_dma = !mode.equals("withheld");
  edu_base = pci::bar_address(*edu, 0);
  const uint16_t command = pci::read16(edu->slot, pci::reg::command);
  pci::write16(edu->slot, pci::reg::command, static_cast<uint16_t>(command | pci::command_bus_master));
  const uint16_t readback = pci::read16(edu->slot, pci::reg::command);
  for (uint32_t i = 0; i < sizeof(dma_source); ++i) {
    dma_source[i] = static_cast<uint8_t>(i * 7 + 3);
    dma_destination[i] = 0;
  }
  dsb();
  const auto source = reinterpret_cast<uint64_t>(dma_source);
  const auto destination = reinterpret_cast<uint64_t>(dma_destination);
  const bool done = run_dma(source, edu::dma_buffer, 0) && run_dma(edu::dma_buffer, destination, edu::dma_to_ram);
  dsb();
  uint32_t copied = 0;
  uint32_t untouched = 0;
  for (uint32_t i = 0; i < sizeof(dma_source); ++i) {
    if (dma_destination[i] == dma_source[i]) ++copied;
    if (dma_destination[i] == 0) ++untouched;
  }
  if (!expect_hex("edu DMA transfers finished", done ? 1 : 0, 1)) return;
  if (expect_dma) {
    if (!expect_hex("Bus Master Enable read back", readback & pci::command_bus_master, pci::command_bus_master) ||
        !expect_hex("bytes the DMA round trip copied", copied, sizeof(dma_source))) {
      return;
    }
  } else {
    if (!expect_hex("bytes DMA wrote to RAM without bus mastering", sizeof(dma_source) - untouched, 0)) return;
    begin_note();
    put_text("Bus Master Enable reads back ");
    put_decimal((readback & pci::command_bus_master) != 0 ? 1 : 0);
    put_text(" (the function's own bit is the harness's to check)");
    end_line();
  }
  begin_pass();
  pci::put_vbdf(edu->slot);
  if (expect_dma) {
    put_text(" bus master on: edu DMA copied 256 bytes ");
    put_hex(source);
    put_text(" -> device -> ");
    put_hex(destination);
  } else {
    put_text(" bus master withheld: edu DMA reached no RAM");
  }
  end_line();
}

void test_pci_hold() {
  pci::Bus& bus = pci::scan();
  put_text("probe: pci-hold waiting for a console byte:");
  for (uint32_t i = 0; i < bus.count; ++i) {
    put(' ');
    pci::put_vbdf(bus.functions[i].slot);
    put_text(" command ");
    put_hex(pci::read16(bus.functions[i].slot, pci::reg::command));
  }
  end_line();
  const bool received = wait_for(console_byte_waiting, 600000000);
  if (!received) {
    fail("no console byte within 600 s");
    return;
  }
  const uint32_t byte = console_read_byte();
  begin_pass();
  put_text("resumed by console byte ");
  put_hex(byte);
  end_line();
}

void test_park() {
  put_text("probe: park: the partition stays up, its functions as they are");
  end_line();
  park();
}

}  // namespace probe
