// The ITS driver against the simulated ITS, for the core/its and MSI routing tests.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/its/driver.hpp"
#include "tests/sim/sim_its.hpp"
#include "tests/sim/sim_platform.hpp"

namespace bulkhead::test {

inline std::string its_hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

struct ItsBench {
  explicit ItsBench(sim::SimItsConfig config = sim::SimItsConfig::qemu_7_2(), uint64_t memory_bytes = 4 << 20)
      : memory(memory_bytes), its(memory, config), cpus(config.cpus) {}

  its::Config config() const {
    its::Config c;
    c.path = "/intc@8000000/its@8080000";
    c.cpu_count = cpus;
    return c;
  }
  its::Status bring_up() { return driver.bring_up(config()); }
  its::Status bring_up(const its::Config& c) { return driver.bring_up(c); }
  // Bring-up and every CPU's redistributor.
  bool ready() {
    if (bring_up() != its::Status::ok) return false;
    for (unsigned cpu = 0; cpu < cpus; ++cpu) {
      if (driver.enable_redistributor(cpu, its.redistributor(cpu), its.redistributor(cpu).physical()) !=
          its::Status::ok) {
        return false;
      }
    }
    return true;
  }
  // Operations the simulated ITS recorded, those starting with `prefix`.
  std::vector<std::string> operations(const std::string& prefix) const {
    std::vector<std::string> out;
    for (const std::string& op : its.operations) {
      if (op.rfind(prefix, 0) == 0) out.push_back(op);
    }
    return out;
  }

  sim::SimItsMemory memory;
  sim::SimIts its;
  sim::ItsClock clock;
  unsigned cpus;
  its::Driver driver{its, memory, clock};
};

}  // namespace bulkhead::test
