// The guest device-tree generator: every node and property checked through libfdt, the
// blob decompiled by dtc (which must accept it without a warning), the device nodes
// compared with QEMU's own virt DTB, (determinism, capacity and consistency errors: partition_guest_dt_errors_test.cpp).
#include <doctest/doctest.h>
#include <libfdt.h>

#include <cstring>
#include <string>

#include "core/platform/firmware_dt.hpp"
#include "partitions/guest_dt.hpp"
#include "tests/unit/partition_guest_dt_support.hpp"

using namespace bulkhead;
using namespace bulkhead::partitions;
using namespace bulkhead::partitions::guest_dt_test;

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
  CHECK(dt.cells(pcie, "bus-range") == Cells{0, 0});  // the virtual bus is bus 0 alone
  CHECK(dt.cells(pcie, "reg") == Cells{0, 0x3f000000, 0, 0x01000000});
  // I/O ports 0..0xffff at 0x3eff0000, the 32-bit window, the 64-bit prefetchable window.
  CHECK(dt.cells(pcie, "ranges") == Cells{0x01000000, 0, 0, 0, 0x3eff0000, 0, 0x10000,                 //
                                          0x02000000, 0, 0x10000000, 0, 0x10000000, 0, 0x2eff0000,  //
                                          0x43000000, 0x80, 0, 0x80, 0, 0x80, 0});
  CHECK(dt.raw(pcie, "dma-coherent").empty());
  CHECK(!dt.has(pcie, "interrupt-map"));  // no INTx lines given: no map

  const std::string dts = dt.decompile("pci");
  CHECK(contains(dts, "\tpcie@3f000000 {\n\t\tcompatible = \"pci-host-ecam-generic\";\n"));
  CHECK(contains(dts, "\t\tbus-range = <0x00 0x00>;\n"));
}

TEST_CASE("guest dt: INTx lines give the bridge an interrupt-map by virtual slot and pin") {
  Partition partition = linux_partition();
  partition.pci_device_count = 3;
  GuestDtInput input = input_for(partition);
  input.virtual_pci = true;
  input.pci_interrupts[0] = {2, 1, 5, 4};
  input.pci_interrupts[1] = {31, 4, 3, 4};
  input.pci_interrupts[2] = {7, 2, 40, 1};
  input.pci_interrupt_count = 3;
  const GuestDt dt(input);
  const std::string pcie = "/pcie@3f000000";
  CHECK(dt.properties(pcie) == Names{"compatible", "device_type", "#address-cells", "#size-cells", "linux,pci-domain",
                                     "bus-range", "reg", "ranges", "dma-coherent", "#interrupt-cells",
                                     "interrupt-map-mask", "interrupt-map"});
  CHECK(dt.cells(pcie, "#interrupt-cells") == Cells{1});
  CHECK(dt.cells(pcie, "interrupt-map-mask") == Cells{0xf800, 0, 0, 7});
  // (device << 11, 0, 0, pin) -> the GIC (phandle 1, two address cells), SPI, flags.
  CHECK(dt.cells(pcie, "interrupt-map") == Cells{0x1000, 0, 0, 1, 1, 0, 0, 0, 5, 4,   //
                                                 0xf800, 0, 0, 4, 1, 0, 0, 0, 3, 4,   //
                                                 0x3800, 0, 0, 2, 1, 0, 0, 0, 40, 1});
  const std::string dts = dt.decompile("pci-intx");
  CHECK(contains(dts, "\t\tinterrupt-map-mask = <0xf800 0x00 0x00 0x07>;\n"));
  // Without vPCI the lines are ignored: no node at all.
  input.virtual_pci = false;
  CHECK_FALSE(GuestDt(input).has_node(pcie));
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
  // The windows are QEMU's: I/O, 32-bit, 64-bit; ours declares the 64-bit one prefetchable.
  const std::string qemu_ranges = qemu_raw("/pcie@10000000", "ranges");
  REQUIRE(qemu_ranges.size() == 3 * 7 * 4);
  std::string ours = dt.raw("/pcie@3f000000", "ranges");
  REQUIRE(ours.size() == qemu_ranges.size());
  CHECK(static_cast<uint8_t>(ours[14 * 4]) == 0x43);
  ours[14 * 4] = 0x03;
  CHECK(ours == qemu_ranges);
  // An interrupt-map entry has QEMU's shape: 4 child cells, the GIC's phandle, 2 address
  // cells and 3 interrupt cells. QEMU's slot 1 INTA is SPI 4 (level high).
  GuestDtInput with_intx = input;
  with_intx.pci_interrupts[0] = {1, 1, 4, 4};
  with_intx.pci_interrupt_count = 1;
  const std::string qemu_map = qemu_raw("/pcie@10000000", "interrupt-map");
  REQUIRE(qemu_map.size() == 16 * 10 * 4);
  const Cells entry = GuestDt(with_intx).cells("/pcie@3f000000", "interrupt-map");
  REQUIRE(entry.size() == 10);
  for (size_t cell = 0; cell < 10; ++cell) {
    CAPTURE(cell);
    uint32_t qemu_cell = 0;
    std::memcpy(&qemu_cell, qemu_map.data() + (4 * 10 + cell) * 4, 4);  // the fifth entry: devfn 0x08, INTA
    if (cell != 4) CHECK(entry[cell] == fdt32_to_cpu(qemu_cell));
  }
}
