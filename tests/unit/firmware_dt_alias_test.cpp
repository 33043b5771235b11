// stdout-path through /aliases: libfdt resolves an alias's value as a path again, so
// Debian's libfdt 1.6.1 recurses without bound on an alias that names another alias
// (found by the stack check, tests/cert/stacks.txt). Only a full path is followed.
#include <doctest/doctest.h>

#include <string>

#include "core/platform/firmware_dt.hpp"
#include "tests/unit/firmware_dt_support.hpp"

using namespace bulkhead;
using namespace bulkhead::firmware_dt_test;

TEST_CASE("firmware dt: stdout-path aliases must name a full path") {
  Dtb dt = Dtb::load("virt-smmu-smp4-m2048").editable();
  dt.add_node("/", "aliases");
  SUBCASE("two aliases naming each other: rejected before libfdt follows them") {
    dt.set_string("/aliases", "serial0", "serial1");
    dt.set_string("/aliases", "serial1", "serial0");
    dt.set_string("/chosen", "stdout-path", "serial0:115200n8");
    CHECK(error_of(dt) == "/aliases: serial0: \"serial1\" is not a full path");
  }
  SUBCASE("an alias naming itself") {
    dt.set_string("/aliases", "uart", "uart");
    dt.set_string("/chosen", "stdout-path", "uart");
    CHECK(error_of(dt) == "/aliases: uart: \"uart\" is not a full path");
  }
  SUBCASE("an empty alias") {
    dt.set_string("/aliases", "serial0", "");
    dt.set_string("/chosen", "stdout-path", "serial0");
    CHECK(error_of(dt) == "/aliases: serial0: \"\" is not a full path");
  }
  SUBCASE("a full path is followed, with a path below the alias") {
    dt.set_string("/aliases", "soc", "/");
    dt.set_string("/chosen", "stdout-path", "soc/pl011@9000000");
    const Result result = parse(dt);
    REQUIRE_MESSAGE(result.ok, result.error);
    CHECK(result.platform->uart.present);
    CHECK(std::string(result.platform->uart.path.text) == "/pl011@9000000");
  }
  SUBCASE("an alias that does not exist: no console from stdout-path, not an error") {
    dt.set_string("/chosen", "stdout-path", "serial7");
    const Result result = parse(dt);
    REQUIRE_MESSAGE(result.ok, result.error);
    CHECK_FALSE(result.platform->uart.present);
  }
}
