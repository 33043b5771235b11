// The virtual PCI bus one partition sees (vPCI): bus 0 of a `pci-host-ecam-generic`
// bridge whose slots hold the partition's functions, each as function 0. Every guest
// ECAM access is answered here, default deny:
// - identity (read from the function at setup and reset: it is read-only), status, PM and
//   PCI Express registers read through; header type 0;
// - the command register is shadowed: only I/O, memory, bus master and INTx disable
//   reach the function, memory decode only once stage 2 maps the BARs behind it;
// - BARs are virtual: sizing works, and the guest's placement is mapped in stage 2 onto
//   the physical BAR while memory decode is on (old mapping removed first);
// - the capability list shows PCI Express and PM (MSI and MSI-X only when a handler is
//   attached), the extended list is empty, the ROM is hidden;
// - everything else reads 0 and drops writes; the first such write per function is logged.
// The virtual I/O window forwards accesses inside a function's I/O BARs.
//
// Portable, heap-free, no hardware: all effects go through VpciHost. Not thread-safe:
// the caller serialises accesses to one bus (one lock per partition).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/lib/format.hpp"
#include "core/platform/platform.hpp"
#include "pci/topology.hpp"
#include "pci/vpci/vpci_host.hpp"

namespace bulkhead::pci::vpci {

constexpr size_t max_bus_functions = 16;  // per partition
constexpr uint8_t bus_slots = 32;         // devices on bus 0; slot 0 is reserved for the host bridge
constexpr uint64_t guest_page = 0x1000;   // stage-2 granule
constexpr uint64_t ecam_bus_bytes = uint64_t{1} << 20;
constexpr size_t max_reserved_ranges = 16;
constexpr size_t max_bus_capabilities = 4;  // PM, PCI Express, MSI, MSI-X

// The size a guest sees for a BAR: memory BARs are at least one page, because the host
// allocator gives a smaller one a page of its own (pci/bar_allocator.cpp) and stage 2
// maps whole pages, so the guest must place it on a page of its own too.
uint64_t guest_bar_size(const Bar& bar);

struct NamedRange {
  const char* name = "";
  AddressRange range;
};

// Guest-physical windows of the virtual host bridge (partitions/guest_layout.hpp).
struct GuestWindows {
  AddressRange mmio32;
  AddressRange mmio64;
  AddressRange io;  // CPU addresses; I/O port 0 is at io.base
};

struct FunctionSetup {
  const Function* function = nullptr;  // enumerated, usable, not a bridge, owned by the partition
  uint8_t slot = 0;                    // 1..31; it appears as 00:slot.0
};

struct BusSetup {
  const char* partition = "";  // its name, for log lines; must outlive the bus
  bool legacy_intx = false;
  GuestWindows windows;
  // What no BAR may be mapped over: guest RAM, emulated and passed-through regions.
  NamedRange reserved[max_reserved_ranges];
  size_t reserved_count = 0;
  FunctionSetup functions[max_bus_functions];
  size_t function_count = 0;
};

struct SetupError {
  char message[160] = {};
};

// ok false: refuse the access; the caller gives the guest an external abort.
struct ReadResult {
  bool ok = false;
  uint32_t value = 0;
};

// One stage-2 range the bus has mapped now (a BAR, or a part of one around a trapped range).
struct MappedRange {
  uint8_t slot = 0;
  uint8_t bar = 0;
  uint64_t guest = 0;
  uint64_t host = 0;
  uint64_t size = 0;
};

enum class CapabilityKind : uint8_t { msi, msix };

// A capability the bus links into the guest's list but does not emulate: MSI and MSI-X,
// filled in by the MSI work. It also serves BAR ranges it asked the bus to trap (the
// MSI-X table and PBA), which stage 2 then leaves unmapped.
class CapabilityHandler {
 public:
  // A dword of the capability (config offset, dword-aligned). The bus supplies the ID and
  // next-pointer bytes of the first dword itself.
  virtual uint32_t read_config(uint16_t offset) = 0;
  // `byte_mask` bit i set: byte i of the dword is written.
  virtual void write_config(uint16_t offset, uint32_t value, uint8_t byte_mask) = 0;
  // An access at `offset` inside BAR `bar`, within the range given to trap_bar_range().
  virtual uint32_t read_trapped(uint8_t bar, uint64_t offset, AccessWidth width) = 0;
  virtual void write_trapped(uint8_t bar, uint64_t offset, AccessWidth width, uint32_t value) = 0;
  // Back to power-on state: the function was reset or its partition restarts.
  virtual void reset() = 0;

 protected:
  ~CapabilityHandler() = default;
};

class VirtualPciBus {
 public:
  constexpr VirtualPciBus() = default;

  // Takes the partition's functions, in power-on state: command 0, so decode and bus
  // master stay off as enumeration left them, and with legacy INTx allowed the function's
  // INTx disable is cleared (the only physical write). Reads their identity registers.
  // False with a message naming the culprit on a bad setup; the bus is then empty.
  bool configure(const BusSetup& setup, VpciHost& host, SetupError& error);

  // A guest access at `offset` inside the virtual ECAM window, `size` 1, 2 or 4 bytes.
  // An access that crosses a dword or has another size is refused. Absent slots, other
  // functions and buses read all ones and ignore writes.
  ReadResult config_read(uint64_t offset, uint8_t size);
  bool config_write(uint64_t offset, uint8_t size, uint32_t value);

  // The trap path's shortcut for an access the caller has checked (the MMIO registry does
  // for the ECAM window): `size` 1, 2 or 4 and `offset` aligned to it. The header's fixed
  // dwords and absent functions are answered from a table (header_answers_), with no decode:
  // true when done (a read's `value` set, zero-extended), false when the access needs
  // config_read() / config_write(). Either way the guest sees the same.
  //
  // Both run without the VM's lock, on several vCPUs at once and beside the bus's other
  // methods: devfn_entry_ changes only while none of the VM's vCPUs runs (configure), and
  // the table's words and the Interrupt Lines are read and written whole (relaxed atomic
  // accesses), so a reader sees a row's word as it was or as it is, never torn.
  bool header_table_read(uint64_t offset, uint8_t size, uint32_t& value) const {
    if ((offset & ~header_offset_bits) != 0) return false;
    const uint64_t answer = __atomic_load_n(
        &header_answers_[devfn_entry_[offset >> devfn_shift]][(offset >> 2) & (header_dwords - 1)], __ATOMIC_RELAXED);
    if ((answer & header_answered) == 0) return false;
    value = (static_cast<uint32_t>(answer) >> (8 * (offset & 3))) & size_masks[size & 7];
    return true;
  }
  // `value`: the guest's register; only Interrupt Line's byte is kept from it.
  bool header_table_write(uint64_t offset, uint64_t value) {
    if ((offset & ~header_offset_bits) != 0) return false;
    const uint8_t entry = devfn_entry_[offset >> devfn_shift];
    const auto dword = static_cast<unsigned>(offset >> 2) & (header_dwords - 1);
    // Absent functions (entry 0) ignore every write: they end here.
    if (((__atomic_load_n(&header_writes_ignored_[entry], __ATOMIC_RELAXED) >> dword) & 1u) != 0) return true;
    // Interrupt Line, the guest's scratch byte (the rest of its dword is read-only).
    if ((offset & (header_bytes - 1)) != pci::reg::interrupt_dword) return false;
    __atomic_store_n(&interrupt_lines_[entry], static_cast<uint8_t>(value), __ATOMIC_RELAXED);
    return true;
  }

  // A guest access at `offset` (the I/O port) inside the virtual I/O window. Inside an
  // I/O BAR of a function with I/O decode on it reaches the physical BAR; elsewhere reads
  // are all ones and writes are dropped. Misaligned or odd sizes are refused.
  ReadResult io_read(uint64_t offset, uint8_t size);
  bool io_write(uint64_t offset, uint8_t size, uint32_t value);

  // A guest access to an unmapped address in the memory windows: served when it lies in
  // a trapped BAR range of a decoding BAR, refused (external abort) otherwise.
  ReadResult trapped_read(uint64_t guest_address, uint8_t size);
  bool trapped_write(uint64_t guest_address, uint8_t size, uint32_t value);

  // Links MSI or MSI-X of the function in `slot` into its capability list, served by
  // `handler`. False when the function has no such capability.
  bool attach_capability(uint8_t slot, CapabilityKind kind, CapabilityHandler& handler);
  // Keeps [offset, offset + size) of memory BAR `bar` (rounded out to pages) out of stage 2
  // and sends guest accesses there to `handler`. One range per BAR; the BAR must be unmapped.
  bool trap_bar_range(uint8_t slot, uint8_t bar, uint64_t offset, uint64_t size, CapabilityHandler& handler);

  // Power-on state for every function (or one): stage-2 mappings removed first, the
  // physical command back to what enumeration left, every virtual register and log
  // limit reset, handlers reset, identity read again. For partition restarts and
  // function resets.
  void reset();
  bool reset_function(uint8_t slot);
  // A stopped partition's bus: as reset(), and every function's INTx disabled too, so
  // nothing decodes, masters or interrupts until reset() gives the next start its
  // power-on state.
  void quarantine();

  // The stage-2 ranges mapped now, in slot and BAR order: fills up to `capacity`, returns
  // how many there are.
  size_t mapped_ranges(MappedRange* out, size_t capacity) const;
  size_t function_count() const { return function_count_; }

 private:
  struct BarState {
    BarKind kind = BarKind::none;
    bool upper_half = false;  // the upper dword of the 64-bit BAR in the slot below
    bool prefetchable = false;
    bool io_16bit = false;
    uint64_t size = 0;   // as the guest sees it
    uint64_t host = 0;   // CPU physical address
    uint64_t guest = 0;  // address bits the guest programmed
    bool mapped = false;
    uint64_t mapped_guest = 0;
    bool placement_logged = false;
    uint64_t trap_first = 0;  // page-aligned offsets inside the BAR; trap_end 0: none
    uint64_t trap_end = 0;
    CapabilityHandler* trap_handler = nullptr;
  };

  struct CapabilityState {
    uint8_t id = 0;
    uint8_t offset = 0;
    uint8_t length = 0;  // bytes, dword multiple
    uint8_t next = 0;    // the guest's next pointer
    CapabilityHandler* handler = nullptr;  // MSI, MSI-X
  };

  // The type 0 header: 16 dwords. Offset bits of an ECAM access inside bus 0's headers:
  // device and function [19:12], the header's bytes [5:0].
  static constexpr unsigned header_dwords = 16;
  static constexpr uint64_t header_bytes = uint64_t{header_dwords} * 4;
  static constexpr unsigned devfn_shift = 12;
  static constexpr uint32_t size_masks[8] = {0, 0xff, 0xffff, 0, 0xffffffffu, 0, 0, 0};  // by access size
  static constexpr uint64_t header_offset_bits = (uint64_t{0xff} << devfn_shift) | (header_bytes - 1);

  // The trap path's table (header_table_read/write), by function: index 0 is every absent
  // function (all ones, writes dropped), index n is functions_[n - 1]. Per header dword,
  // what it reads when fixed (identity, header type, capability pointer, hidden ROM,
  // CardBus and reserved dwords) with header_answered set, and whether writes to it do
  // nothing at all. A dword without header_answered goes through the full decode, so a
  // zeroed table is always correct, only slower.
  static constexpr uint64_t header_answered = uint64_t{1} << 32;
  using HeaderAnswers = uint64_t[header_dwords];

  // The read-only identity dwords, kept so a guest's most frequent reads (vendor and
  // device ID) cost no physical access.
  struct Identity {
    uint32_t vendor_device = 0;
    uint32_t class_revision = 0;
    uint32_t subsystem = 0;
  };

  struct FunctionState {
    const Function* physical = nullptr;
    uint8_t slot = 0;
    Identity identity;
    uint16_t guest_command = 0;
    uint16_t physical_command = 0;
    uint16_t quarantine_command = 0;  // as enumeration left it
    bool unhandled_write_logged = false;
    bool bus_master_logged = false;
    BarState bars[bar_slots];
    CapabilityState capabilities[max_bus_capabilities];
    uint8_t capability_count = 0;
    uint8_t first_capability = 0;
    CapabilityHandler* msi_handler = nullptr;
    CapabilityHandler* msix_handler = nullptr;
  };

  // An I/O BAR decoding now, for the I/O window's lookups.
  struct IoDecoder {
    uint64_t first = 0;  // I/O port
    uint64_t size = 0;
    uint64_t host = 0;
  };

  // A trapped BAR range mapped now, for trapped_read/trapped_write.
  struct TrapDecoder {
    uint64_t first = 0;  // guest-physical
    uint64_t end = 0;
    uint64_t bar_base = 0;
    uint8_t bar = 0;
    CapabilityHandler* handler = nullptr;
  };

  // Header registers (virtual_bus.cpp): those kept in the function's state inline, the
  // rest (command and status, interrupt pin, BARs, capabilities) out of line.
  uint32_t read_dword(FunctionState& f, uint16_t offset);
  [[gnu::noinline]] uint32_t read_computed_dword(FunctionState& f, uint16_t offset);
  // Return false when the write touched a byte nothing handles.
  bool write_dword(FunctionState& f, uint16_t offset, uint32_t value, uint8_t byte_mask);
  [[gnu::noinline]] bool write_emulated_dword(FunctionState& f, uint16_t offset, uint32_t value, uint8_t byte_mask);
  [[gnu::noinline, gnu::cold]] void log_unhandled_write(FunctionState& f, uint16_t offset, uint8_t size, uint32_t value);
  void write_command(FunctionState& f, uint16_t command);
  void write_status(FunctionState& f, uint16_t written);
  uint16_t virtual_status(FunctionState& f);
  void apply_physical_command(FunctionState& f);
  void reset_every_function(bool quarantine);
  void reset_state(FunctionState& f);
  void read_identity(FunctionState& f);
  void refresh_header_image(FunctionState& f);
  // A function's Interrupt Line (header_table_write stores it without the lock).
  uint8_t interrupt_line(const FunctionState& f) const {
    return __atomic_load_n(&interrupt_lines_[&f - functions_ + 1], __ATOMIC_RELAXED);
  }
  void set_interrupt_line(const FunctionState& f, uint8_t line) {
    __atomic_store_n(&interrupt_lines_[&f - functions_ + 1], line, __ATOMIC_RELAXED);
  }
  void clear();
  FunctionState* function_at(uint64_t ecam_offset);
  FunctionState* function_in_slot(uint8_t slot);

  // BARs and stage 2 (virtual_bars.cpp).
  void setup_bars(FunctionState& f);
  uint32_t read_bar(const FunctionState& f, uint8_t index) const;
  void write_bar(FunctionState& f, uint8_t index, uint32_t value, uint8_t byte_mask);
  void map_memory_bars(FunctionState& f);
  void unmap_memory_bars(FunctionState& f);
  void map_bar(FunctionState& f, uint8_t index);
  void unmap_bar(BarState& bar);
  bool map_pieces(const BarState& bar);
  bool placement_ok(const FunctionState& f, uint8_t index, FixedBuffer<160>& problem) const;
  void refresh_decoders();

  // Capabilities (virtual_capabilities.cpp).
  void link_capabilities(FunctionState& f);
  const CapabilityState* capability_at(const FunctionState& f, uint16_t offset) const;
  uint32_t read_capability(FunctionState& f, const CapabilityState& c, uint16_t offset);
  void write_capability(FunctionState& f, const CapabilityState& c, uint16_t offset, uint32_t value, uint8_t byte_mask);

  template <typename... Args>
  void log_event(const FunctionState& f, FormatString<std::type_identity_t<Args>...> text, Args... args) {
    FixedBuffer<256> line;
    format(line, "partition {} vpci 00:{}.0 ", partition_, plain_hex(f.slot, 2));
    format<Args...>(line, text, args...);
    host_->log(line.c_str());
  }

  // First, so the trap path reaches them with plain offsets.
  HeaderAnswers header_answers_[max_bus_functions + 1] = {};
  uint16_t header_writes_ignored_[max_bus_functions + 1] = {};
  // Each function's Interrupt Line (the guest's scratch byte), by the same index: the
  // header table's write path stores it with no function lookup.
  uint8_t interrupt_lines_[max_bus_functions + 1] = {};
  uint8_t devfn_entry_[256] = {};  // slot_entry_ by device and function (bus 0; function 0 only)
  VpciHost* host_ = nullptr;
  const char* partition_ = "";
  bool legacy_intx_ = false;
  bool quarantined_ = false;  // quarantine() until the next reset()
  GuestWindows windows_;
  NamedRange reserved_[max_reserved_ranges];
  size_t reserved_count_ = 0;
  FunctionState functions_[max_bus_functions];
  size_t function_count_ = 0;
  uint8_t slot_entry_[bus_slots] = {};  // 1 + index into functions_; 0: the slot is empty
  IoDecoder io_decoders_[max_bus_functions * bar_slots];
  size_t io_decoder_count_ = 0;
  TrapDecoder trap_decoders_[max_bus_functions * bar_slots];
  size_t trap_decoder_count_ = 0;
};

}  // namespace bulkhead::pci::vpci
