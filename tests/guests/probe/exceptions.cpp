// Synchronous exceptions and the vectors nothing should reach (entry.S).
#include "console.hpp"
#include "smp.hpp"
#include "tests.hpp"

namespace probe {
namespace {

constexpr uint32_t ec_data_abort_same_el = 0x25;
constexpr uint32_t ec_unknown = 0x00;  // an UNDEFINED instruction

volatile bool aborts_expected = false;
volatile bool fetch_faults_expected = false;
volatile bool undefined_expected = false;
AbortRecord abort_record;

const char* const vector_names[16] = {
    "sync-sp0",  "irq-sp0",  "fiq-sp0",  "serror-sp0",  "sync-spx",   "irq-spx",   "fiq-spx",   "serror-spx",
    "sync-el0",  "irq-el0",  "fiq-el0",  "serror-el0",  "sync-el0-32", "irq-el0-32", "fiq-el0-32", "serror-el0-32"};

[[noreturn]] void stop(const char* what, const Frame& frame) {
  const uint32_t vcpu = vcpu_index();
  if (vcpu != 0) {
    // Only vCPU 0 prints: leave the evidence where it looks, and stop here.
    smp::Slot& s = smp::slot(vcpu);
    s.result = static_cast<int64_t>(frame.esr);
    s.online = 0;
    park();
  }
  begin_fail();
  put_text("unexpected ");
  put_text(what);
  put_text(" ESR ");
  put_hex(frame.esr);
  put_text(" ELR ");
  put_hex(frame.elr);
  put_text(" FAR ");
  put_hex(frame.far);
  end_line();
  finish();
}

}  // namespace

void expect_aborts(bool expected) {
  if (expected) abort_record.count = 0;
  aborts_expected = expected;
  dsb();
}

void expect_fetch_faults(bool expected) {
  if (expected) abort_record.count = 0;
  fetch_faults_expected = expected;
  dsb();
}

void expect_undefined(bool expected) {
  if (expected) abort_record.count = 0;
  undefined_expected = expected;
  dsb();
}

AbortRecord& aborts() { return abort_record; }

}  // namespace probe

extern "C" void on_sync(probe::Frame* frame) {
  using namespace probe;
  const bool data_abort = aborts_expected && exception_class(frame->esr) == ec_data_abort_same_el;
  const bool undefined = undefined_expected && exception_class(frame->esr) == ec_unknown;
  if (data_abort || undefined || fetch_faults_expected) {
    abort_record.esr = frame->esr;
    abort_record.far = frame->far;
    abort_record.elr = frame->elr;
    abort_record.spsr = frame->spsr;
    abort_record.count = abort_record.count + 1;
    frame->elr = data_abort || undefined ? frame->elr + 4 : frame->x[30];
    return;
  }
  stop("synchronous exception", *frame);
}

extern "C" [[noreturn]] void on_unexpected(probe::Frame* frame, uint64_t vector) {
  probe::stop(probe::vector_names[vector & 15], *frame);
}
