// The SMMUv3's wired interrupts, as Linux's binding describes them
// (Documentation/devicetree/bindings/iommu/arm,smmu-v3.yaml): up to four GIC specifiers
// in `interrupts`, named by `interrupt-names` ("eventq", "gerror", "priq", "cmdq-sync",
// or one "combined" line for all of them); without names, entries are taken in the
// binding's order: eventq, gerror, priq, cmdq-sync.
//
// Kept: eventq and gerror (a combined line is both). Ignored: priq (no PRI queue is
// used) and cmdq-sync (CMD_SYNC completion is polled). A kept line must be a GIC SPI,
// edge rising: the SMMU signals a queue going non-empty or a new global error, not a
// level (the boot CPU configures it so, core/boot/console_input.cpp). Anything else in
// the node's interrupts is an error naming the node, the line and the defect: the
// firmware DT is then refused, as for any other malformed node the hypervisor reads.
#include "core/arch/aarch64/intid.hpp"
#include "core/platform/firmware_dt_reader.hpp"

namespace bulkhead::firmware_dt_detail {
namespace {

constexpr const char* smmu_line_names[smmu_line_count] = {"eventq", "gerror", "priq", "cmdq-sync", "combined"};
// Without interrupt-names, entry i is binding_order[i].
constexpr SmmuLine binding_order[] = {SmmuLine::eventq, SmmuLine::gerror, SmmuLine::priq, SmmuLine::cmdq_sync};
constexpr size_t max_smmu_interrupts = sizeof(binding_order) / sizeof(binding_order[0]);
constexpr uint32_t irq_type_mask = 0xf;          // the flags cell's trigger type (PPIs add a CPU mask above)
constexpr uint32_t irq_type_edge_rising = 1;     // dt-bindings/interrupt-controller/irq.h
constexpr uint32_t last_dt_spi = arch::Intid::last_spi - arch::Intid::first_spi;

// The strings of `interrupt-names`, one at a time (the property is NUL-terminated).
class NameList {
 public:
  NameList(const char* value, size_t length) : at_(value), end_(value + length) {}
  // The next name, or nullptr after the last.
  const char* next() {
    if (at_ >= end_) return nullptr;
    const char* name = at_;
    at_ += rt::length(name) + 1;
    return name;
  }

 private:
  const char* at_;
  const char* end_;
};

bool line_named(const char* name, SmmuLine& line) {
  for (size_t i = 0; i < smmu_line_count; ++i) {
    if (rt::compare_strings(name, smmu_line_names[i]) == 0) {
      line = static_cast<SmmuLine>(i);
      return true;
    }
  }
  return false;
}

}  // namespace

bool Reader::read_smmu_interrupts(int node, SmmuV3Info& smmu) {
  const Property interrupts = property(node, "interrupts");
  if (!interrupts.present()) return true;  // nothing wired: the boot CPU polls the SMMU
  if (!check_gic_parent(node) || !check_interrupts_length(node, interrupts)) return false;
  // cppcheck-suppress redundantAssignment ; it takes property()'s return for a reassignment
  const size_t count = interrupts.length / (size_t{4} * gic_interrupt_cells_);
  const char* names_value = nullptr;
  if (!read_string(node, "interrupt-names", names_value)) return false;
  SmmuLine lines[smmu_line_count] = {};
  if (names_value == nullptr) {
    if (count > max_smmu_interrupts) {
      return fail("{}: interrupts: {} entries without interrupt-names, at most 4 (eventq, gerror, priq, cmdq-sync)",
                  smmu.path.text, count);
    }
    for (size_t i = 0; i < count; ++i) lines[i] = binding_order[i];
  } else if (!read_smmu_interrupt_names(node, smmu, count, lines)) {
    return false;
  }
  for (size_t i = 0; i < count; ++i) {
    if (lines[i] == SmmuLine::priq || lines[i] == SmmuLine::cmdq_sync) continue;
    const size_t at = i * gic_interrupt_cells_;
    const char* name = smmu_line_names[static_cast<size_t>(lines[i])];
    const uint32_t type = interrupts.cell(at);
    const uint32_t spi = interrupts.cell(at + 1);
    const uint32_t flags = interrupts.cell(at + 2);
    if (type != gic_spi_type) {
      return fail("{}: interrupts: {} (entry {}): type {} is not an SPI (0)", smmu.path.text, name, i, type);
    }
    if (spi > last_dt_spi) {
      return fail("{}: interrupts: {} (entry {}): SPI {} is beyond the last SPI ({})", smmu.path.text, name, i, spi,
                  last_dt_spi);
    }
    if ((flags & irq_type_mask) != irq_type_edge_rising) {
      return fail("{}: interrupts: {} (entry {}): flags {} are not edge rising (1)", smmu.path.text, name, i,
                  hex(flags));
    }
    if (lines[i] != SmmuLine::gerror) {
      smmu.has_event_spi = true;
      smmu.event_spi = spi;
    }
    if (lines[i] != SmmuLine::eventq) {
      smmu.has_gerror_spi = true;
      smmu.gerror_spi = spi;
    }
  }
  return true;
}

// `interrupt-names`: one known name per entry of `interrupts`, none twice, and
// "combined" only alone. `lines` holds smmu_line_count entries (names are distinct).
bool Reader::read_smmu_interrupt_names(int node, const SmmuV3Info& smmu, size_t count, SmmuLine* lines) {
  const IndexedProperty names = index_.property(node, "interrupt-names");
  NameList list(static_cast<const char*>(names.value), names.length);
  size_t named = 0;
  bool seen[smmu_line_count] = {};
  for (const char* name = list.next(); name != nullptr; name = list.next(), ++named) {
    SmmuLine line = SmmuLine::eventq;
    if (!line_named(name, line)) {
      return fail("{}: interrupt-names: \"{}\" is not eventq, gerror, priq, cmdq-sync or combined", smmu.path.text,
                  name);
    }
    if (seen[static_cast<size_t>(line)]) {
      return fail("{}: interrupt-names: \"{}\" is named twice", smmu.path.text, name);
    }
    seen[static_cast<size_t>(line)] = true;
    if (named < count) lines[named] = line;
  }
  if (named != count) {
    return fail("{}: interrupt-names: {} names for {} interrupts", smmu.path.text, named, count);
  }
  if (seen[static_cast<size_t>(SmmuLine::combined)] && count != 1) {
    return fail("{}: interrupt-names: \"combined\" must be the only interrupt", smmu.path.text);
  }
  return true;
}

}  // namespace bulkhead::firmware_dt_detail
