#include <doctest/doctest.h>

#include <string>

#include "core/lib/bootargs.hpp"
#include "core/lib/crash_report.hpp"
#include "core/lib/log.hpp"
#include "core/lib/psci.hpp"

using namespace bulkhead;

namespace {
struct CapturedLines final : log::LineSink {
  std::string text;
  void write_line(const char* line, size_t length) override { text.append(line, length); }
};
}  // namespace

TEST_CASE("crash report: decodes a data abort and prints every register") {
  ExceptionFrame frame{};
  for (unsigned i = 0; i < 31; ++i) frame.x[i] = 0x1000 + i;
  frame.esr = 0x96000045;  // EC 0x25: data abort at EL2, write
  frame.far = 0xdead0000;
  frame.elr = 0x40201234;
  frame.spsr = 0x3c9;
  frame.x[31] = 0x40280000;  // the interrupted stack pointer (sp())
  CapturedLines captured;
  log::LineSink* previous = log::set_output(&captured);
  report_crash(1, 0x1, 4, frame);
  log::set_output(previous);
  const std::string& t = captured.text;
  CHECK(t.find("bulkhead: error: cpu 1 crashed at EL2: sync-el2 data-abort-same-el\n") == 0);
  CHECK(t.find("bulkhead: crash cpu 1 mpidr 0x1 vector sync-el2 class data-abort-same-el ec 0x25\n") != std::string::npos);
  CHECK(t.find("bulkhead: crash cpu 1 esr 0x96000045 far 0xdead0000 elr 0x40201234 spsr 0x3c9 sp 0x40280000\n") !=
        std::string::npos);
  CHECK(t.find("bulkhead: crash cpu 1 x0 0x0000000000001000 x1 0x0000000000001001 x2 0x0000000000001002 x3 "
               "0x0000000000001003\n") != std::string::npos);
  CHECK(t.find("bulkhead: crash cpu 1 x28 0x000000000000101c x29 0x000000000000101d x30 0x000000000000101e\n") !=
        std::string::npos);
}

TEST_CASE("crash report: FAR is only shown when the class defines it") {
  ExceptionFrame frame{};
  frame.esr = 0x02000000;  // EC 0: unknown reason (e.g. an undefined instruction)
  CapturedLines captured;
  log::LineSink* previous = log::set_output(&captured);
  report_crash(0, 0, 4, frame);
  log::set_output(previous);
  CHECK(captured.text.find("far unknown") != std::string::npos);
  CHECK(std::string(exception_class_name(0x16)) == "hvc-a64");
  CHECK(std::string(exception_class_name(0x3d)) == "unlisted-class");
  CHECK(std::string(vector_name(11)) == "serror-lower-a64");
  CHECK(std::string(vector_name(16)) == "unknown-vector");
}

TEST_CASE("bootargs: options are whole words, with or without values") {
  const char* args = "console=ttyAMA0 bulkhead.hold bulkhead.selftest=crash-data-abort bulkhead.holdx=1";
  CHECK(bootarg_present(args, "bulkhead.hold"));
  CHECK(bootarg_present(args, "bulkhead.selftest"));
  CHECK_FALSE(bootarg_present(args, "bulkhead.hol"));
  CHECK_FALSE(bootarg_present(args, "bulkhead"));
  CHECK_FALSE(bootarg_present(nullptr, "bulkhead.hold"));
  char value[32];
  CHECK(bootarg_value(args, "bulkhead.selftest", value, sizeof(value)));
  CHECK(std::string(value) == "crash-data-abort");
  CHECK_FALSE(bootarg_value(args, "bulkhead.hold", value, sizeof(value)));  // no value
  char tiny[4];
  CHECK_FALSE(bootarg_value(args, "bulkhead.selftest", tiny, sizeof(tiny)));
  CHECK_FALSE(bootarg_value("bulkhead.x=", "bulkhead.x", value, sizeof(value)));
}

TEST_CASE("psci: result names and affinity") {
  CHECK(std::string(psci::result_name(psci::invalid_parameters)) == "INVALID_PARAMETERS");
  CHECK(std::string(psci::result_name(-42)) == "UNKNOWN");
  // RES1 bit 31, U bit 30 and MT bit 24 are not affinity; Aff3 (bits 32-39) is.
  CHECK(psci::affinity_of(0x81000001ull) == 0x1);
  CHECK(psci::affinity_of(0x000000ff40010203ull) == 0xff00010203ull);
}
