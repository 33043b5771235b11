// ITS commands (IHI 0069 5.3): 32-byte records the driver writes to the command queue.
// Encoders for the commands the driver issues, and a decoder for the simulated ITS and
// the tests. RDbase is a redistributor's processor number (GITS_TYPER.PTA = 0) or its
// physical address shifted right by 16 (PTA = 1); the caller chooses which.
#pragma once

#include <cstdint>

#include "core/its/registers.hpp"

namespace bulkhead::its {

struct Command {
  uint64_t dw[4] = {};
};

// MAPD: DeviceID's events translate through the ITT at `itt` (256-byte aligned) with
// `event_bits` EventID bits (1..32); valid false unmaps the device.
Command mapd(uint32_t device_id, unsigned event_bits, uint64_t itt, bool valid);
// MAPC: collection `icid` delivers to redistributor `rdbase`; valid false unmaps it.
Command mapc(uint16_t icid, uint64_t rdbase, bool valid);
// MAPTI: (DeviceID, EventID) raises physical LPI `lpi` through collection `icid`.
Command mapti(uint32_t device_id, uint32_t event_id, uint32_t lpi, uint16_t icid);
// MAPI: the same with LPI = EventID.
Command mapi(uint32_t device_id, uint32_t event_id, uint16_t icid);
// MOVI: the event's LPI now goes through collection `icid` (its pending state moves).
Command movi(uint32_t device_id, uint32_t event_id, uint16_t icid);
// DISCARD: the event's translation is removed and its LPI's pending state cleared.
Command discard(uint32_t device_id, uint32_t event_id);
// INV: the redistributor reloads the event's LPI configuration.
Command inv(uint32_t device_id, uint32_t event_id);
// INVALL: every LPI configuration of a collection's redistributor is reloaded.
Command invall(uint16_t icid);
// CLEAR: the event's LPI is no longer pending.
Command clear(uint32_t device_id, uint32_t event_id);
// SYNC: the effects of earlier commands on redistributor `rdbase` are visible.
Command sync(uint64_t rdbase);

struct DecodedCommand {
  uint8_t opcode = 0;
  uint32_t device_id = 0;
  uint32_t event_id = 0;
  uint32_t lpi = 0;         // MAPTI; MAPI: the EventID
  unsigned event_bits = 0;  // MAPD
  uint64_t itt = 0;         // MAPD
  uint16_t icid = 0;
  uint64_t rdbase = 0;      // MAPC, SYNC, MOVALL (the first)
  bool valid = false;       // MAPD, MAPC
};
DecodedCommand decode(const Command& command);
// "MAPD", "MAPTI", ...; "UNKNOWN" for other opcodes.
const char* command_name(uint8_t opcode);

}  // namespace bulkhead::its
