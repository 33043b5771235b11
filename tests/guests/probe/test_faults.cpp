// isolation: accesses to addresses outside the partition must end in a synchronous
// external abort taken at EL1 (ESR_EL1.EC 0x25, DFSC 0x10, FAR_EL1 = the address), and
// nothing else. exec-fault: the same for an instruction fetch (EC 0x21, IFSC 0x10).
// fault-loop: many of them in a row. reset-loop: SYSTEM_RESET, forever.
#include "console.hpp"
#include "psci.hpp"
#include "tests.hpp"

namespace probe {
namespace {

constexpr uint64_t ec_data_abort_same_el = 0x25;
constexpr uint64_t ec_instruction_abort_same_el = 0x21;
constexpr uint64_t dfsc_external_abort = 0x10;
constexpr uint64_t esr_wnr = 1u << 6;
constexpr uint64_t esr_fnv = 1u << 10;
constexpr uint64_t esr_il = 1u << 25;

// The abort the last access should have raised, checked field by field.
bool check_abort(const char* access, uint64_t address, uint32_t expected_count, bool write, uint64_t daif) {
  const AbortRecord& a = aborts();
  if (a.count != expected_count) {
    begin_fail();
    put_text(access);
    put_text(" at ");
    put_hex(address);
    put_text(" did not fault: aborts expected ");
    put_decimal(expected_count);
    put_text(" got ");
    put_decimal(a.count);
    end_line();
    return false;
  }
  const uint64_t esr = a.esr;
  const auto insn = reinterpret_cast<uint64_t>(write ? probe_write_insn : probe_read_insn);
  return expect_hex("ESR_EL1.EC", exception_class(esr), ec_data_abort_same_el) &&
         expect_hex("ESR_EL1.DFSC", esr & 0x3f, dfsc_external_abort) &&
         expect_hex("ESR_EL1.WnR", esr & esr_wnr, write ? esr_wnr : 0) &&
         expect_hex("ESR_EL1.IL", esr & esr_il, esr_il) && expect_hex("ESR_EL1.FnV", esr & esr_fnv, 0) &&
         expect_hex("FAR_EL1", a.far, address) && expect_hex("ELR_EL1", a.elr, insn) &&
         expect_hex("SPSR_EL1 mode and DAIF", a.spsr & 0x3cf, (daif & 0x3c0) | 0x5);
}

bool probe_address(Text name, uint64_t address) {
  const uint64_t daif = PROBE_READ_SYSREG(daif);
  expect_aborts(true);
  const uint32_t value = probe_read32(address);
  bool ok = check_abort("32-bit read", address, 1, false, daif);
  if (!ok && aborts().count == 0) {
    begin_note();
    put_text("the read returned ");
    put_hex(value);
    end_line();
  }
  if (ok) {
    probe_write32(address, 0xdeadbeef);
    ok = check_abort("32-bit write", address, 2, true, daif);
  }
  expect_aborts(false);
  if (!ok) return false;
  begin_pass();
  put_text(name.data, name.length);
  put(' ');
  put_hex(address);
  put_text(" read+write faulted");
  end_line();
  return true;
}

}  // namespace

void test_isolation() {
  Text list = settings().isolation;
  if (list.empty()) {
    fail("no probe.isolation=NAME@0xADDR,... in the bootargs");
    return;
  }
  while (!list.empty()) {
    Text item = next_item(list, ',');
    const Text name = next_item(item, '@');
    uint64_t address = 0;
    if (name.empty() || !parse_number(item, address) || (address & 3) != 0) {
      begin_fail();
      put_text("bad probe.isolation item ");
      put_text(name.data, name.length);
      put_text(" (want NAME@0xADDR, 4-byte aligned)");
      end_line();
      continue;
    }
    probe_address(name, address);
  }
}

void test_exec_fault() {
  // A branch to the first byte past the partition's RAM (or probe.fault-address): the
  // fetch finds nothing, so the guest must see an instruction abort, not an undefined
  // instruction.
  const uint64_t address = settings().fault_address;
  const uint64_t daif = PROBE_READ_SYSREG(daif);
  expect_fetch_faults(true);
  probe_call(address);
  expect_fetch_faults(false);
  const AbortRecord& a = aborts();
  if (!expect_hex("exceptions taken by the branch", a.count, 1)) return;
  const uint64_t esr = a.esr;
  if (!expect_hex("ESR_EL1.EC", exception_class(esr), ec_instruction_abort_same_el) ||
      !expect_hex("ESR_EL1.IFSC", esr & 0x3f, dfsc_external_abort) || !expect_hex("ESR_EL1.IL", esr & esr_il, esr_il) ||
      !expect_hex("ESR_EL1.FnV", esr & esr_fnv, 0) || !expect_hex("FAR_EL1", a.far, address) ||
      !expect_hex("ELR_EL1", a.elr, address) ||
      !expect_hex("SPSR_EL1 mode and DAIF", a.spsr & 0x3cf, (daif & 0x3c0) | 0x5)) {
    return;
  }
  begin_pass();
  put_text("branch to ");
  put_hex(address);
  put_text(" took an instruction abort");
  end_line();
}

void test_fault_loop() {
  const uint64_t address = settings().fault_address;
  const uint64_t faults = settings().faults;
  const uint64_t daif = PROBE_READ_SYSREG(daif);
  expect_aborts(true);
  for (uint64_t i = 0; i < faults; ++i) {
    probe_read32(address);
    if (aborts().count != i + 1 || aborts().far != address) {
      const bool ok = check_abort("32-bit read", address, static_cast<uint32_t>(i + 1), false, daif);
      expect_aborts(false);
      if (ok) fail("FAR_EL1 changed during the loop");
      return;
    }
  }
  const bool ok = check_abort("32-bit read", address, static_cast<uint32_t>(faults), false, daif);
  expect_aborts(false);
  if (!ok) return;
  begin_pass();
  put_decimal(faults);
  put_text(" data aborts at ");
  put_hex(address);
  put_text(" all caught");
  end_line();
}

namespace {
// Initialised data the payload carries: every boot must find the value the image holds,
// however the previous run changed it.
volatile uint32_t payload_word = 0x600df00d;
constexpr uint32_t scribble = 0x5c1ebb1e;
}  // namespace

void test_reset_loop() {
  // A word of free RAM (past the image and stacks, in the middle of the partition's RAM),
  // scribbled on before each reset: a restart scrubs all RAM, so it must read 0.
  auto* free_word = reinterpret_cast<volatile uint32_t*>(settings().guest.ram_base + settings().guest.ram_size / 2);
  if (payload_word != 0x600df00d || *free_word != 0) {
    begin_fail();
    put_text("restarted dirty: payload word ");
    put_hex(payload_word);
    put_text(" (image: 0x600df00d), free RAM word ");
    put_hex(*free_word);
    put_text(" (scrubbed: 0)");
    end_line();
    return;
  }
  put_text("probe: reset-loop boot");
  end_line();
  payload_word = scribble;
  *free_word = scribble;
  const int64_t status = psci::hvc(psci::system_reset);
  begin_fail();
  put_text("SYSTEM_RESET returned ");
  put_signed(status);
  end_line();
}

}  // namespace probe
