// The guest device-tree generator's failure modes and determinism: the same input gives
// the same bytes, a small buffer and an inconsistent input are precise errors.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "partitions/guest_dt.hpp"
#include "tests/unit/partition_guest_dt_support.hpp"

using namespace bulkhead;
using namespace bulkhead::partitions;
using namespace bulkhead::partitions::guest_dt_test;

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

TEST_CASE("guest dt: a bad PCI interrupt line is an error naming it") {
  struct Case {
    const char* expected;
    GuestPciInterrupt line;
  };
  const Case cases[] = {
      {"partition linux: PCI interrupt slot 0 pin 1: slot must be 1..31, pin 1..4", {0, 1, 5, 4}},
      {"partition linux: PCI interrupt slot 32 pin 1: slot must be 1..31, pin 1..4", {32, 1, 5, 4}},
      {"partition linux: PCI interrupt slot 3 pin 0: slot must be 1..31, pin 1..4", {3, 0, 5, 4}},
      {"partition linux: PCI interrupt slot 3 pin 5: slot must be 1..31, pin 1..4", {3, 5, 5, 4}},
      {"partition linux: PCI slot 3 INTx SPI 988 flags 4: not a GICv3 SPI with flags 1 or 4", {3, 1, 988, 4}},
      {"partition linux: PCI slot 3 INTx SPI 5 flags 8: not a GICv3 SPI with flags 1 or 4", {3, 1, 5, 8}},
      {"partition linux: PCI slot 3 INTx SPI 1 is the virtual UART's", {3, 1, guest_uart_spi, 4}},
      {"partition linux: PCI slot 2 pin 1 is listed twice", {2, 1, 6, 4}},
  };
  for (const Case& bad : cases) {
    const std::string expected = bad.expected;
    CAPTURE(expected);
    Partition partition = linux_partition();
    partition.pci_device_count = 2;
    GuestDtInput input = input_for(partition);
    input.virtual_pci = true;
    input.pci_interrupts[0] = {2, 1, 5, 4};
    input.pci_interrupts[1] = bad.line;
    input.pci_interrupt_count = 2;
    const Attempt result = attempt(input);
    CHECK(!result.ok);
    CHECK(result.message == bad.expected);
    input.pci_interrupt_count = 1;  // the good line alone is fine
    CHECK(attempt(input).ok);
  }
  Partition partition = linux_partition();
  GuestDtInput input = input_for(partition);
  input.virtual_pci = true;
  input.pci_interrupt_count = max_pci_devices + 1;
  CHECK(attempt(input).message == "partition linux: 17 PCI interrupts, at most 16");
}
