#include "pci/reset_method.hpp"

#include "core/lib/log.hpp"
#include "pci/capability_registers.hpp"

namespace bulkhead::pci {
namespace {

constexpr uint16_t absent16 = 0xffff;
constexpr uint8_t absent8 = 0xff;

bool advertises_flr(ConfigAccessor& config, const Function& f) {
  if (f.caps.pcie.offset == 0) return false;
  const uint32_t capabilities =
      config.read32(f.address.bdf, static_cast<uint16_t>(f.caps.pcie.offset + reg::pcie::device_capabilities));
  return capabilities != 0xffffffffu && (capabilities & reg::pcie::device_capabilities_flr) != 0;
}

bool advertises_af_flr(ConfigAccessor& config, const Function& f) {
  if (f.caps.advanced_features == 0) return false;
  const uint8_t capabilities =
      config.read8(f.address.bdf, static_cast<uint16_t>(f.caps.advanced_features + reg::af::capabilities));
  constexpr uint8_t needed = reg::af::capabilities_flr | reg::af::capabilities_transactions_pending;
  return capabilities != absent8 && (capabilities & needed) == needed;
}

bool soft_resets_from_d3hot(ConfigAccessor& config, const Function& f) {
  if (f.caps.power_management == 0) return false;
  const uint16_t pmcsr =
      config.read16(f.address.bdf, static_cast<uint16_t>(f.caps.power_management + reg::pm::control_status));
  return pmcsr != absent16 && (pmcsr & reg::pm::no_soft_reset) == 0;
}

// The bridge's secondary bus holds this function only (so no other function, not even
// another function of the same device, shares the reset).
bool alone_below_bridge(const PciTopology& topology, const Function& f) {
  const Function* bridge = topology.parent_of(f);
  return bridge != nullptr && bridge->is_bridge() && bridge->bridge.child_count == 1 &&
         bridge->bridge.first_child == topology.index_of(f);
}

ResetReason reason_of(ResetMethod method, const PciTopology& topology, const Function& f) {
  switch (method) {
    case ResetMethod::flr: return ResetReason::device_capabilities;
    case ResetMethod::af_flr: return ResetReason::advanced_features;
    case ResetMethod::pm: return ResetReason::soft_reset;
    case ResetMethod::bus: return ResetReason::alone_below_bridge;
    case ResetMethod::none: break;
  }
  return topology.parent_of(f) == nullptr ? ResetReason::root_bus : ResetReason::shared_bus;
}

}  // namespace

ResetChoice choose_reset(ConfigAccessor& config, const PciTopology& topology, const Function& function) {
  ResetChoice choice;
  if (function.header_type != 0 || function.kind == FunctionKind::host_bridge) return choice;
  if (advertises_flr(config, function)) choice.methods |= ResetChoice::bit(ResetMethod::flr);
  if (advertises_af_flr(config, function)) choice.methods |= ResetChoice::bit(ResetMethod::af_flr);
  if (soft_resets_from_d3hot(config, function)) choice.methods |= ResetChoice::bit(ResetMethod::pm);
  if (alone_below_bridge(topology, function)) choice.methods |= ResetChoice::bit(ResetMethod::bus);
  choice.method = choice.after(ResetMethod::none);
  choice.reason = reason_of(choice.method, topology, function);
  return choice;
}

void choose_reset_methods(PciTopology& topology, const Segment& segment, ConfigAccessor& config) {
  for (size_t i = segment.first_function; i < segment.first_function + segment.function_count; ++i) {
    Function& f = topology.functions[i];
    f.reset = choose_reset(config, topology, f);
  }
}

void report_reset_choices(const PciTopology& topology) {
  for (size_t i = 0; i < topology.function_count; ++i) {
    const Function& f = topology.functions[i];
    if (f.reset.reason == ResetReason::not_assignable) continue;
    FixedBuffer<40> fallbacks;
    const char* separator = " fallback ";
    for (ResetMethod m = f.reset.after(f.reset.method); m != ResetMethod::none; m = f.reset.after(m)) {
      format(fallbacks, "{}{}", separator, reset_method_name(m));
      separator = ",";
    }
    log::fact("pci-reset {} {} reason {}{}", sbdf_text(f.address).text, reset_method_name(f.reset.method),
              reset_reason_name(f.reset.reason), fallbacks.c_str());
  }
}

}  // namespace bulkhead::pci
