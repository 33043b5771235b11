#include "core/its/commands.hpp"

namespace bulkhead::its {
namespace {

Command with_device(uint8_t code, uint32_t device_id, uint32_t event_id) {
  Command c;
  c.dw[0] = command::opcode::put(code) | command::device_id::put(device_id);
  c.dw[1] = command::event_id::put(event_id);
  return c;
}

}  // namespace

Command mapd(uint32_t device_id, unsigned event_bits, uint64_t itt, bool valid) {
  Command c = with_device(opcode::mapd, device_id, 0);
  c.dw[1] = command::itt_size::put(event_bits == 0 ? 0 : event_bits - 1);
  c.dw[2] = (itt & command::itt_address::mask) | command::valid::put(valid ? 1 : 0);
  return c;
}

Command mapc(uint16_t icid, uint64_t rdbase, bool valid) {
  Command c;
  c.dw[0] = command::opcode::put(opcode::mapc);
  c.dw[2] = command::icid::put(icid) | command::rdbase::put(rdbase) | command::valid::put(valid ? 1 : 0);
  return c;
}

Command mapti(uint32_t device_id, uint32_t event_id, uint32_t lpi, uint16_t icid) {
  Command c = with_device(opcode::mapti, device_id, event_id);
  c.dw[1] |= command::physical_intid::put(lpi);
  c.dw[2] = command::icid::put(icid);
  return c;
}

Command mapi(uint32_t device_id, uint32_t event_id, uint16_t icid) {
  Command c = with_device(opcode::mapi, device_id, event_id);
  c.dw[2] = command::icid::put(icid);
  return c;
}

Command movi(uint32_t device_id, uint32_t event_id, uint16_t icid) {
  Command c = with_device(opcode::movi, device_id, event_id);
  c.dw[2] = command::icid::put(icid);
  return c;
}

Command discard(uint32_t device_id, uint32_t event_id) { return with_device(opcode::discard, device_id, event_id); }
Command inv(uint32_t device_id, uint32_t event_id) { return with_device(opcode::inv, device_id, event_id); }
Command clear(uint32_t device_id, uint32_t event_id) { return with_device(opcode::clear, device_id, event_id); }

Command invall(uint16_t icid) {
  Command c;
  c.dw[0] = command::opcode::put(opcode::invall);
  c.dw[2] = command::icid::put(icid);
  return c;
}

Command sync(uint64_t rdbase) {
  Command c;
  c.dw[0] = command::opcode::put(opcode::sync);
  c.dw[2] = command::rdbase::put(rdbase);
  return c;
}

DecodedCommand decode(const Command& c) {
  DecodedCommand d;
  d.opcode = static_cast<uint8_t>(command::opcode::get(c.dw[0]));
  d.device_id = static_cast<uint32_t>(command::device_id::get(c.dw[0]));
  d.event_id = static_cast<uint32_t>(command::event_id::get(c.dw[1]));
  d.icid = static_cast<uint16_t>(command::icid::get(c.dw[2]));
  d.valid = command::valid::get(c.dw[2]) != 0;
  switch (d.opcode) {
    case opcode::mapd:
      d.event_id = 0;
      d.event_bits = static_cast<unsigned>(command::itt_size::get(c.dw[1])) + 1;
      d.itt = command::itt_address::get(c.dw[2]);
      d.icid = 0;
      break;
    case opcode::mapc:
    case opcode::sync:
    case opcode::movall: d.rdbase = command::rdbase::get(c.dw[2]); break;
    case opcode::mapti: d.lpi = static_cast<uint32_t>(command::physical_intid::get(c.dw[1])); break;
    case opcode::mapi: d.lpi = d.event_id; break;
    default: break;
  }
  return d;
}

const char* command_name(uint8_t code) {
  switch (code) {
    case opcode::movi: return "MOVI";
    case opcode::int_: return "INT";
    case opcode::clear: return "CLEAR";
    case opcode::sync: return "SYNC";
    case opcode::mapd: return "MAPD";
    case opcode::mapc: return "MAPC";
    case opcode::mapti: return "MAPTI";
    case opcode::mapi: return "MAPI";
    case opcode::inv: return "INV";
    case opcode::invall: return "INVALL";
    case opcode::movall: return "MOVALL";
    case opcode::discard: return "DISCARD";
    default: return "UNKNOWN";
  }
}

}  // namespace bulkhead::its
