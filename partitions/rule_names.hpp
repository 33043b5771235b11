// The rule names that appear in violation lines (`FILE: /node: RULE: explanation`).
// partitions/README.md lists each with what it checks; tests match the exact names.
#pragma once

namespace bulkhead::partitions::rule {

// Reading a blob (description, normalized description or board definition).
constexpr const char* dtb = "dtb";                            // not a well-formed DTB
constexpr const char* compatible = "compatible";              // wrong root compatible
constexpr const char* schema_version = "schema-version";      // missing or unsupported version
constexpr const char* checked_by = "checked-by";              // normalized form not made by this tool
constexpr const char* required = "required";                  // a required node or property is missing
constexpr const char* property_type = "property-type";        // wrong encoding or length
constexpr const char* property_value = "property-value";      // a value outside its allowed set
constexpr const char* unknown_property = "unknown-property";  // not in the schema (typo guard)
constexpr const char* unknown_node = "unknown-node";          // not in the schema
constexpr const char* capacity = "capacity";                  // more than a fixed limit allows
constexpr const char* name_syntax = "name-syntax";            // partition/node name form
constexpr const char* name_unique = "name-unique";            // two partitions, one name
constexpr const char* cpu_selector = "cpu-selector";          // cpus vs cpu-mpidrs
constexpr const char* pci_selector = "pci-selector";          // sbdf / vendor-device / instance form
constexpr const char* pci_reset = "pci-reset";                // a pci-device's reset is "none" or absent
constexpr const char* board_layout = "board-layout";          // the board definition contradicts itself

// Checking a description against the board and the payloads.
constexpr const char* board_match = "board-match";
constexpr const char* cpu_exists = "cpu-exists";
constexpr const char* cpu_unique = "cpu-unique";
constexpr const char* ram_size = "ram-size";
constexpr const char* ram_alignment = "ram-alignment";
constexpr const char* ram_inside_board = "ram-inside-board";
constexpr const char* ram_overlap = "ram-overlap";
constexpr const char* ram_exhausted = "ram-exhausted";
constexpr const char* payload_exists = "payload-exists";
constexpr const char* payload_format = "payload-format";
constexpr const char* payload_fits = "payload-fits";
constexpr const char* package_size = "package-size";
constexpr const char* package_entry = "package-entry";  // normalized form vs package entries (boot)
constexpr const char* pci_unique = "pci-unique";
constexpr const char* platform_exists = "platform-exists";
constexpr const char* platform_unique = "platform-unique";
constexpr const char* guest_slot_range = "guest-slot-range";
constexpr const char* guest_slot_unique = "guest-slot-unique";
constexpr const char* guest_region_collision = "guest-region-collision";
constexpr const char* guest_address_limit = "guest-address-limit";
constexpr const char* msi_spis = "msi-spis";  // the message-based SPI range

}  // namespace bulkhead::partitions::rule
