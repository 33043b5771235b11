// The QEMU PCI devices the pci-* tests drive, as QEMU's sources define them: their IDs
// and the registers behind their BARs. Named once for test_pci.cpp and test_pci_policy.cpp.
#pragma once

#include <cstdint>

namespace probe {

// hw/misc/edu.c: BAR 0 (1 MiB) holds the registers; INTA; MSI (not used: hidden).
namespace edu {
constexpr uint16_t vendor = 0x1234;
constexpr uint16_t device = 0x11e8;
constexpr uint64_t identification = 0x00;
constexpr uint32_t identification_value = 0x010000ed;
constexpr uint64_t liveness = 0x04;  // reads back the complement of what was written
constexpr uint64_t factorial = 0x08;
constexpr uint64_t status = 0x20;
constexpr uint32_t status_computing = 0x01;
constexpr uint32_t status_irq_on_factorial = 0x80;
constexpr uint64_t irq_status = 0x24;
constexpr uint64_t irq_acknowledge = 0x64;
constexpr uint32_t irq_factorial = 0x1;
constexpr uint32_t irq_dma = 0x100;
constexpr uint64_t dma_source = 0x80;
constexpr uint64_t dma_destination = 0x88;
constexpr uint64_t dma_count = 0x90;
constexpr uint64_t dma_command = 0x98;
constexpr uint64_t dma_run = 0x1;
constexpr uint64_t dma_to_ram = 0x2;  // device buffer -> RAM; clear: RAM -> device buffer
constexpr uint64_t dma_irq_on_finish = 0x4;  // raise irq_dma when the transfer is done
constexpr uint64_t dma_buffer = 0x40000;  // the device's 4 KiB buffer, as a DMA address
}  // namespace edu

// hw/misc/pci-testdev.c: BAR 0 memory and BAR 1 I/O test areas, BAR 2 (membar=) a 64-bit
// prefetchable BAR nothing backs. Writing test N to byte 0 selects a test whose header
// reads back through the BAR: test number, width, the offset that counts matching writes,
// the data they must carry, the count, then its name.
namespace testdev {
constexpr uint16_t vendor = 0x1b36;
constexpr uint16_t device = 0x0005;
constexpr uint64_t select = 0x00;
constexpr uint64_t width = 0x01;
constexpr uint64_t offset = 0x04;
constexpr uint64_t data = 0x08;
constexpr uint64_t count = 0x0c;
constexpr uint64_t name = 0x10;
constexpr uint32_t name_mmio = 0x6f696d6d;  // "mmio", little-endian: "mmio-no-eventfd"
constexpr uint32_t name_port = 0x74726f70;  // "port": "portio-no-eventfd"
constexpr uint32_t mmio_offset = 0x800;     // IOTEST_MEMSIZE + test 0
constexpr uint32_t port_offset = 0x83;      // IOTEST_IOSIZE + test 3 (portio, no eventfd)
constexpr uint8_t match = 0xfa;             // IOTEST_DATAMATCH
}  // namespace testdev

// hw/net/e1000e*.c: BAR 0 registers, an I/O BAR with an address/data window.
namespace e1000e {
constexpr uint16_t vendor = 0x8086;
constexpr uint16_t device = 0x10d3;
constexpr uint64_t ral0 = 0x5400;  // receive address 0: the MAC's first four bytes
constexpr uint64_t rah0 = 0x5404;  // its last two bytes, the valid bit
constexpr uint32_t rah_valid = 1u << 31;
constexpr uint32_t rah_reserved = 0x7fff0000u;
constexpr uint64_t ioaddr = 0x00;
constexpr uint64_t iodata = 0x04;
}  // namespace e1000e

// hw/rtc/pl031.c, the board's RTC (passed through at its host address, SPI 2): writing
// MR equal to DR raises the alarm at once; its line is RIS & IMSC, level, until ICR.
namespace pl031 {
constexpr uint64_t base = 0x09010000;
constexpr uint32_t intid = 34;
constexpr uint64_t data = 0x00;   // DR, seconds
constexpr uint64_t match = 0x04;  // MR
constexpr uint64_t mask = 0x10;   // IMSC
constexpr uint64_t raw_status = 0x14;  // RIS
constexpr uint64_t clear = 0x1c;  // ICR
constexpr uint32_t alarm = 1;
}  // namespace pl031

}  // namespace probe
