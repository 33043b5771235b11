// Host-bridge descriptions and log capture for host tests of pci/.
#pragma once

#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "core/lib/log.hpp"
#include "core/platform/platform.hpp"

namespace bulkhead::sim {

constexpr uint32_t smmu_phandle = 0x8005;
constexpr uint32_t its_phandle = 0x8004;
constexpr uint32_t gic_phandle = 0x8002;

// A host bridge shaped like QEMU virt's: I/O at CPU 0x3eff0000 (bus 0), 32-bit memory
// identity-mapped at 0x10000000, 64-bit (non-prefetchable, as QEMU writes it) at 512 GiB;
// INTx of slot s pin p -> SPI 3 + (s + p - 1) % 4 under mask <0x1800 0 0 7>; RIDs map
// 1:1 to StreamIDs and ITS DeviceIDs.
inline PcieHostInfo qemu_host(const char* path = "/pcie@10000000", uint8_t bus_first = 0, uint8_t bus_last = 0xff,
                              uint64_t ecam_base = 0x4010000000ull) {
  PcieHostInfo host;
  std::strncpy(host.path.text, path, sizeof(host.path.text) - 1);
  host.bus_first = bus_first;
  host.bus_last = bus_last;
  host.bus_range_from_dt = true;
  host.ecam = {ecam_base, (static_cast<uint64_t>(bus_last - bus_first) + 1) << 20};
  host.windows[0] = {PciSpace::io, false, 0x0, 0x3eff0000, 0x10000};
  host.windows[1] = {PciSpace::mem32, false, 0x10000000, 0x10000000, 0x2eff0000};
  host.windows[2] = {PciSpace::mem64, false, 0x8000000000ull, 0x8000000000ull, 0x8000000000ull};
  host.window_count = 3;
  host.iommu_map.entries[0] = {0, smmu_phandle, 0, 0x10000};
  host.iommu_map.count = 1;
  host.msi_map.entries[0] = {0, its_phandle, 0, 0x10000};
  host.msi_map.count = 1;
  size_t n = 0;
  for (uint32_t slot = 0; slot < 4; ++slot) {
    for (uint32_t pin = 1; pin <= 4; ++pin) {
      host.interrupt_map[n++] = {slot << 11, pin, gic_phandle, 3 + (slot + pin - 1) % 4, 4};
    }
  }
  host.interrupt_map_count = n;
  host.interrupt_map_mask[0] = 0x1800;
  host.interrupt_map_mask[3] = 0x7;
  return host;
}

// Collects log lines while alive.
class CapturedLog final : public log::LineSink {
 public:
  CapturedLog() : previous_(log::set_output(this)) {}
  ~CapturedLog() { log::set_output(previous_); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  void write_line(const char* text, size_t length) override {
    std::string line(text, length);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    lines_.push_back(line);
  }
  const std::vector<std::string>& lines() const { return lines_; }
  std::string text() const {
    std::string all;
    for (const auto& l : lines_) all += l + "\n";
    return all;
  }
  std::vector<std::string> errors() const { return starting_with("bulkhead: error: "); }
  std::vector<std::string> starting_with(const std::string& prefix) const {
    std::vector<std::string> out;
    for (const auto& l : lines_) {
      if (l.rfind(prefix, 0) == 0) out.push_back(l);
    }
    return out;
  }
  bool contains(const std::string& line) const {
    for (const auto& l : lines_) {
      if (l == line) return true;
    }
    return false;
  }
  void clear() { lines_.clear(); }

 private:
  log::LineSink* previous_;
  std::vector<std::string> lines_;
};

}  // namespace bulkhead::sim
