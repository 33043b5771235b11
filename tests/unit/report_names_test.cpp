// The names the boot report and crash report print for enumerations and codes: each value
// has its own name, the one its README or the architecture documents, and an undefined
// value gets the documented fallback rather than another value's name.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "core/lib/crash_report.hpp"
#include "core/lib/psci.hpp"
#include "core/vgic/interrupt.hpp"
#include "pci/topology.hpp"

using namespace bulkhead;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string source_file(const std::string& relative) {
  return read_file(std::string(BULKHEAD_TEST_DATA_DIR) + "/../../" + relative);
}

}  // namespace

TEST_CASE("report names: PSCI return codes by their PSCI specification names") {
  const std::vector<std::pair<int64_t, std::string>> codes = {
      {psci::success, "SUCCESS"},
      {psci::not_supported, "NOT_SUPPORTED"},
      {psci::invalid_parameters, "INVALID_PARAMETERS"},
      {psci::denied, "DENIED"},
      {psci::already_on, "ALREADY_ON"},
      {psci::on_pending, "ON_PENDING"},
      {psci::internal_failure, "INTERNAL_FAILURE"},
      {psci::not_present, "NOT_PRESENT"},
      {psci::disabled, "DISABLED"},
      {psci::invalid_address, "INVALID_ADDRESS"},
  };
  for (const auto& [code, name] : codes) {
    CAPTURE(code);
    CHECK(psci::result_name(code) == name);
  }
  CHECK(std::string(psci::result_name(-10)) == "UNKNOWN");
  CHECK(std::string(psci::result_name(1)) == "UNKNOWN");
}

TEST_CASE("report names: every exception vector and listed exception class is told apart") {
  std::set<std::string> vectors;
  for (unsigned vector = 0; vector < 16; ++vector) vectors.insert(vector_name(vector));
  CHECK(vectors.size() == 16);
  CHECK(vectors.count("unknown-vector") == 0);
  CHECK(std::string(vector_name(4)) == "sync-el2");
  CHECK(std::string(vector_name(13)) == "irq-lower-a32");
  CHECK(std::string(vector_name(99)) == "unknown-vector");

  // The exception classes of the Arm ARM (ESR_ELx.EC) the report names.
  const uint32_t listed[] = {0x00, 0x01, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0c, 0x0e, 0x11, 0x12, 0x13, 0x15, 0x16,
                             0x17, 0x18, 0x20, 0x21, 0x22, 0x24, 0x25, 0x26, 0x28, 0x2c, 0x2f, 0x30, 0x31, 0x32,
                             0x33, 0x34, 0x35, 0x38, 0x3c};
  std::set<std::string> classes;
  for (const uint32_t ec : listed) {
    CAPTURE(ec);
    const std::string name = exception_class_name(ec);
    CHECK(name != "unlisted-class");
    classes.insert(name);
  }
  CHECK(classes.size() == std::size(listed));
  CHECK(std::string(exception_class_name(0x24)) == "data-abort-lower-el");
  CHECK(std::string(exception_class_name(0x2f)) == "serror");
  CHECK(std::string(exception_class_name(0x12)) == "hvc-a32");
  CHECK(std::string(exception_class_name(0x3d)) == "unlisted-class");  // a vector catch: not listed
}

TEST_CASE("report names: FAR is reported only for the classes that set it") {
  // Arm ARM: FAR_ELx is valid for instruction and data aborts, PC alignment faults and
  // watchpoints; for every other class it is UNKNOWN.
  const std::set<uint32_t> valid = {0x20, 0x21, 0x22, 0x24, 0x25, 0x34, 0x35};
  for (uint32_t ec = 0; ec < 0x40; ++ec) {
    CAPTURE(ec);
    CHECK(arch::far_is_valid(static_cast<arch::ExceptionClass>(ec)) == (valid.count(ec) == 1));
  }
}

TEST_CASE("report names: PCI function kinds, port types and BAR kinds as pci/README.md lists them") {
  const std::string readme = source_file("pci/README.md");
  const pci::FunctionKind kinds[] = {
      pci::FunctionKind::endpoint,        pci::FunctionKind::legacy_endpoint, pci::FunctionKind::rc_endpoint,
      pci::FunctionKind::rc_event_collector, pci::FunctionKind::host_bridge,  pci::FunctionKind::root_port,
      pci::FunctionKind::upstream_port,   pci::FunctionKind::downstream_port, pci::FunctionKind::pcie_pci_bridge,
      pci::FunctionKind::pci_pcie_bridge, pci::FunctionKind::pci_bridge,      pci::FunctionKind::cardbus_bridge,
      pci::FunctionKind::unknown};
  std::set<std::string> names;
  for (const pci::FunctionKind kind : kinds) {
    const std::string name = pci::kind_name(kind);
    CAPTURE(name);
    CHECK(readme.find("`" + name + "`") != std::string::npos);
    names.insert(name);
  }
  CHECK(names.size() == std::size(kinds));

  // The PCI Express capability's device/port type: defined values share the kind names.
  CHECK(std::string(pci::port_type_name(pci::port_type::endpoint)) == "endpoint");
  CHECK(std::string(pci::port_type_name(pci::port_type::legacy_endpoint)) == "legacy-endpoint");
  CHECK(std::string(pci::port_type_name(pci::port_type::root_port)) == "root-port");
  CHECK(std::string(pci::port_type_name(pci::port_type::upstream_port)) == "upstream-port");
  CHECK(std::string(pci::port_type_name(pci::port_type::downstream_port)) == "downstream-port");
  CHECK(std::string(pci::port_type_name(pci::port_type::pcie_pci_bridge)) == "pcie-pci-bridge");
  CHECK(std::string(pci::port_type_name(pci::port_type::pci_pcie_bridge)) == "pci-pcie-bridge");
  CHECK(std::string(pci::port_type_name(pci::port_type::rc_endpoint)) == "rc-endpoint");
  CHECK(std::string(pci::port_type_name(pci::port_type::rc_event_collector)) == "rc-event-collector");
  for (const uint8_t undefined : {0x2, 0x3, 0xb, 0xf}) {
    CAPTURE(undefined);
    CHECK(std::string(pci::port_type_name(undefined)) == "reserved");
  }

  CHECK(std::string(pci::bar_kind_name(pci::BarKind::none)) == "none");
  CHECK(std::string(pci::bar_kind_name(pci::BarKind::io)) == "io");
  CHECK(std::string(pci::bar_kind_name(pci::BarKind::mem32)) == "mem32");
  CHECK(std::string(pci::bar_kind_name(pci::BarKind::mem64)) == "mem64");
}

TEST_CASE("report names: the physical GIC requests a vGIC access can make") {
  using vgic::HardwareRequest;
  CHECK(std::string(vgic::hardware_request_name(HardwareRequest::enable)) == "enable");
  CHECK(std::string(vgic::hardware_request_name(HardwareRequest::disable)) == "disable");
  CHECK(std::string(vgic::hardware_request_name(HardwareRequest::route)) == "route");
  CHECK(std::string(vgic::hardware_request_name(HardwareRequest::activate)) == "activate");
  CHECK(std::string(vgic::hardware_request_name(HardwareRequest::deactivate)) == "deactivate");
}
