// set-way: data cache maintenance by set/way over every set and way of every data or
// unified cache up to the Level of Coherency (CLIDR_EL1, CSSELR_EL1, CCSIDR_EL1), as
// firmware's and Linux's flush loops do: DC CISW, then DC CSW, then DC ISW, each after the
// guest wrote fresh data. Every operation must complete without a fault and the data must
// survive each loop (DC ISW included: the hypervisor traps set/way operations, HCR_EL2.TSW,
// and cleans and invalidates the partition's own RAM by address instead, so an invalidate
// never discards what the guest wrote). The costs it prints show the emulation
// (cost.hpp): the first operation cleans all the partition's RAM, the ones after it only
// trap until SCTLR_EL1.C changes (seen through HCR_EL2.TVM: that write cleans all of it
// again), and the first one after that starts over. The epoch is per vCPU: vCPU 1's
// first operation cleans the RAM although vCPU 0's epoch is still running
// (tests/integration/probe_tests.py, scenario sysregs).
#include "console.hpp"
#include "cost.hpp"
#include "smp.hpp"
#include "tests.hpp"

namespace probe {
namespace {

struct CacheLevel {
  uint32_t level;  // 0 = L1
  uint32_t sets;
  uint32_t ways;
  uint32_t line_shift;
  uint32_t way_shift;
};
constexpr uint32_t max_levels = 7;
constexpr uint64_t clidr_ctype_data = 2;  // Ctype 2 data, 3 separate, 4 unified
constexpr uint64_t sctlr_c = 1u << 2;

uint32_t read_geometry(CacheLevel* levels) {
  const uint64_t clidr = PROBE_READ_SYSREG(clidr_el1);
  const auto loc = static_cast<uint32_t>((clidr >> 24) & 7);
  uint32_t count = 0;
  for (uint32_t level = 0; level < loc && level < max_levels; ++level) {
    if (((clidr >> (3 * level)) & 7) < clidr_ctype_data) continue;  // none, or instructions only
    PROBE_WRITE_SYSREG(csselr_el1, level << 1);
    isb();
    const uint64_t ccsidr = PROBE_READ_SYSREG(ccsidr_el1);
    CacheLevel& c = levels[count++];
    c.level = level;
    c.line_shift = static_cast<uint32_t>(ccsidr & 7) + 4;
    c.ways = static_cast<uint32_t>((ccsidr >> 3) & 0x3ff) + 1;
    c.sets = static_cast<uint32_t>((ccsidr >> 13) & 0x7fff) + 1;
    c.way_shift = c.ways == 1 ? 0 : static_cast<uint32_t>(__builtin_clz(c.ways - 1));
  }
  PROBE_WRITE_SYSREG(csselr_el1, 0);
  isb();
  return count;
}

void dc_cisw(uint64_t set_way) { asm volatile("dc cisw, %0" ::"r"(set_way) : "memory"); }
void dc_csw(uint64_t set_way) { asm volatile("dc csw, %0" ::"r"(set_way) : "memory"); }
void dc_isw(uint64_t set_way) { asm volatile("dc isw, %0" ::"r"(set_way) : "memory"); }

uint64_t set_way_operand(const CacheLevel& c, uint32_t set, uint32_t way) {
  return (c.way_shift == 0 ? 0 : uint64_t{way} << c.way_shift) | (uint64_t{set} << c.line_shift) | (c.level << 1);
}

// `op` on every set and way of every level, as a flush loop does; returns how many.
uint64_t each_set_way(const CacheLevel* levels, uint32_t count, void (*op)(uint64_t)) {
  uint64_t operations = 0;
  for (uint32_t l = 0; l < count; ++l) {
    const CacheLevel& c = levels[l];
    for (uint32_t way = 0; way < c.ways; ++way) {
      for (uint32_t set = 0; set < c.sets; ++set) {
        op(set_way_operand(c, set, way));
        ++operations;
      }
    }
  }
  asm volatile("dsb sy" ::: "memory");
  return operations;
}

uint64_t single_ns(void (*op)(uint64_t), uint64_t operand) {
  const uint64_t start = virtual_count();
  op(operand);
  return ticks_to_ns(virtual_count() - start, 1);
}

// vCPU 1's first set/way operation, while vCPU 0's epoch runs.
uint64_t other_vcpu_operand = 0;
volatile uint64_t other_vcpu_ns = 0;
void other_vcpu_first() {
  other_vcpu_ns = single_ns(dc_cisw, other_vcpu_operand);
  dsb();
}

// The guest's own data, rewritten before each loop and checked after it.
uint64_t data[1024];

uint64_t pattern(uint32_t i, uint64_t seed) { return (uint64_t{i} * 0x9e3779b97f4a7c15ull) ^ seed; }

void write_data(uint64_t seed) {
  for (uint32_t i = 0; i < sizeof(data) / sizeof(data[0]); ++i) data[i] = pattern(i, seed);
  dsb();
}

bool data_intact(const char* after, uint64_t seed) {
  for (uint32_t i = 0; i < sizeof(data) / sizeof(data[0]); ++i) {
    if (data[i] != pattern(i, seed)) {
      begin_fail();
      put_text("data word ");
      put_decimal(i);
      put_text(" after ");
      put_text(after);
      put_text(" expected ");
      put_hex(pattern(i, seed));
      put_text(" got ");
      put_hex(data[i]);
      end_line();
      return false;
    }
  }
  return true;
}

}  // namespace

void test_set_way() {
  CacheLevel levels[max_levels];
  const uint32_t count = read_geometry(levels);
  if (count == 0) {
    fail("CLIDR_EL1 names no data or unified cache below the Level of Coherency");
    return;
  }
  const uint64_t first_operand = set_way_operand(levels[0], 0, 0);

  write_data(0xc1c1c1c1c1c1c1c1);
  const uint64_t first_ns = single_ns(dc_cisw, first_operand);
  uint64_t start = virtual_count();
  const uint64_t operations = each_set_way(levels, count, dc_cisw);
  uint64_t loop_ticks = virtual_count() - start;
  if (!data_intact("DC CISW by set/way", 0xc1c1c1c1c1c1c1c1)) return;

  write_data(0xc5c5c5c5c5c5c5c5);
  start = virtual_count();
  each_set_way(levels, count, dc_csw);
  loop_ticks += virtual_count() - start;
  if (!data_intact("DC CSW by set/way", 0xc5c5c5c5c5c5c5c5)) return;

  write_data(0x1515151515151515);
  start = virtual_count();
  each_set_way(levels, count, dc_isw);
  loop_ticks += virtual_count() - start;
  if (!data_intact("DC ISW by set/way", 0x1515151515151515)) return;

  // The data cache switched on and off again (the MMU stays off, so nothing else changes).
  const uint64_t sctlr = PROBE_READ_SYSREG(sctlr_el1);
  const uint64_t start_switch = virtual_count();
  PROBE_WRITE_SYSREG(sctlr_el1, sctlr | sctlr_c);
  isb();
  const uint64_t cache_switch_ns = ticks_to_ns(virtual_count() - start_switch, 1);
  PROBE_WRITE_SYSREG(sctlr_el1, sctlr & ~sctlr_c);
  isb();
  write_data(0x5a5a5a5a5a5a5a5a);
  const uint64_t after_sctlr_ns = single_ns(dc_cisw, first_operand);
  if (!data_intact("DC CISW after SCTLR_EL1.C changed", 0x5a5a5a5a5a5a5a5a)) return;
  EXPECT_HEX("SCTLR_EL1 after switching C on and off", PROBE_READ_SYSREG(sctlr_el1), sctlr & ~sctlr_c);

  if (settings().guest.vcpu_count >= 2) {
    other_vcpu_operand = first_operand;
    if (!smp::ensure_online(1)) return;
    if (!smp::run(1, smp::Command::call, reinterpret_cast<uint64_t>(&other_vcpu_first), 10000000)) {
      fail("vcpu 1 did not finish its DC CISW within 10 s");
      return;
    }
    print_cost("set-way-other-vcpu-ns", other_vcpu_ns);
  }
  print_cost("set-way-first-ns", first_ns);
  print_cost("set-way-cache-switch-ns", cache_switch_ns);
  print_cost("set-way-next-ns", ticks_to_ns(loop_ticks, 3 * operations));
  print_cost("set-way-after-sctlr-ns", after_sctlr_ns);
  begin_pass();
  put_text("DC CISW, CSW and ISW over every set and way of ");
  put_decimal(count);
  put_text(" cache levels (");
  put_decimal(operations);
  put_text(" operations each), data intact after each");
  end_line();
}

}  // namespace probe
