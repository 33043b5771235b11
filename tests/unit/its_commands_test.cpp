// ITS command encoding, bit by bit against the architecture's layouts (IHI 0069 5.3),
// and the decoder the simulated ITS and the logs use.
#include <doctest/doctest.h>

#include <string>

#include "core/its/commands.hpp"
#include "core/its/registers.hpp"

using namespace bulkhead;

namespace {
constexpr uint64_t valid_bit = uint64_t{1} << 63;
}

TEST_CASE("its commands: MAPD, MAPC, MAPTI and MAPI place every field where the architecture says") {
  const its::Command d = its::mapd(0x12345, 5, 0xabcdef1200, true);
  CHECK(d.dw[0] == (0x08 | uint64_t{0x12345} << 32));
  CHECK(d.dw[1] == 4);  // Size = EventID bits - 1
  CHECK(d.dw[2] == (0xabcdef1200ull | valid_bit));
  CHECK(d.dw[3] == 0);
  const its::Command unmapped = its::mapd(0x12345, 5, 0, false);
  CHECK(unmapped.dw[2] == 0);
  // ITT addresses are 256-byte aligned: bits below 8 never reach the command.
  CHECK(its::mapd(1, 1, 0x10ff, true).dw[2] == (0x1000 | valid_bit));

  const its::Command c = its::mapc(7, 0x3, true);
  CHECK(c.dw[0] == 0x09);
  CHECK(c.dw[1] == 0);
  CHECK(c.dw[2] == (7 | uint64_t{3} << 16 | valid_bit));
  // PTA: RDbase holds the redistributor's address bits [51:16].
  CHECK(its::mapc(0, 0x080c0000 >> 16, true).dw[2] == (0x080c0000ull | valid_bit));

  const its::Command t = its::mapti(0x18, 33, 8200, 2);
  CHECK(t.dw[0] == (0x0a | uint64_t{0x18} << 32));
  CHECK(t.dw[1] == (33 | uint64_t{8200} << 32));
  CHECK(t.dw[2] == 2);
  const its::Command i = its::mapi(0x18, 8300, 1);
  CHECK(i.dw[0] == (0x0b | uint64_t{0x18} << 32));
  CHECK(i.dw[1] == 8300);
  CHECK(i.dw[2] == 1);
}

TEST_CASE("its commands: MOVI, DISCARD, INV, INVALL, CLEAR and SYNC") {
  const its::Command m = its::movi(0xffffffff, 0xfffffffe, 0xffff);
  CHECK(m.dw[0] == (0x01 | uint64_t{0xffffffff} << 32));
  CHECK(m.dw[1] == 0xfffffffe);
  CHECK(m.dw[2] == 0xffff);
  CHECK(its::discard(0x8, 3).dw[0] == (0x0f | uint64_t{8} << 32));
  CHECK(its::discard(0x8, 3).dw[1] == 3);
  CHECK(its::discard(0x8, 3).dw[2] == 0);
  CHECK(its::inv(0x9, 4).dw[0] == (0x0c | uint64_t{9} << 32));
  CHECK(its::inv(0x9, 4).dw[1] == 4);
  CHECK(its::clear(0x9, 5).dw[0] == (0x04 | uint64_t{9} << 32));
  CHECK(its::invall(6).dw[0] == 0x0d);
  CHECK(its::invall(6).dw[2] == 6);
  CHECK(its::sync(2).dw[0] == 0x05);
  CHECK(its::sync(2).dw[2] == uint64_t{2} << 16);
  CHECK(its::sync(0xfffffffff).dw[2] == uint64_t{0xfffffffff} << 16);  // RDbase is bits [51:16]
}

TEST_CASE("its commands: the decoder reads back what the encoders wrote") {
  const its::DecodedCommand d = its::decode(its::mapd(0x20, 9, 0x40001000, true));
  CHECK(d.opcode == its::opcode::mapd);
  CHECK(d.device_id == 0x20);
  CHECK(d.event_bits == 9);
  CHECK(d.itt == 0x40001000);
  CHECK(d.valid);
  const its::DecodedCommand t = its::decode(its::mapti(0x20, 17, 9000, 3));
  CHECK(t.opcode == its::opcode::mapti);
  CHECK(t.event_id == 17);
  CHECK(t.lpi == 9000);
  CHECK(t.icid == 3);
  const its::DecodedCommand c = its::decode(its::mapc(2, 5, false));
  CHECK(c.rdbase == 5);
  CHECK(c.icid == 2);
  CHECK_FALSE(c.valid);
  CHECK(its::decode(its::mapi(1, 8192, 0)).lpi == 8192);
  CHECK(its::decode(its::sync(4)).rdbase == 4);
  CHECK(std::string(its::command_name(its::opcode::movi)) == "MOVI");
  CHECK(std::string(its::command_name(its::opcode::discard)) == "DISCARD");
  CHECK(std::string(its::command_name(0x7f)) == "UNKNOWN");
}

TEST_CASE("its registers: GITS_BASER's address field for 64 KiB pages keeps bits [51:48] in [15:12]") {
  CHECK(its::baser::encode_address(0x000123456789f000ull, its::baser::page_4k) == 0x23456789f000ull);  // bits [47:12]
  CHECK(its::baser::encode_address(0x000f000012340000ull, its::baser::page_64k) == (0x12340000ull | 0xf000));
  CHECK(its::baser::page_bytes(its::baser::page_16k) == 0x4000);
  CHECK(its::lpi_config::value(true, 0xa0) == 0xa3);
  CHECK(its::lpi_config::value(false, 0xa0) == 0xa2);
  CHECK(its::translater_page(0x08080000) == 0x08090000);
  CHECK(its::translater_page_offset == 0x40);
}
