// The guest-physical regions a partition's traps emulate (the vGIC, the virtual UART,
// later the virtual PCI ECAM, MSI-X table pages and the I/O window), each with the
// access widths it accepts. A data abort is looked up once here; an access that falls in
// no region, or breaks its region's rules, is refused (the guest gets an external abort).
// Regions never overlap: add() refuses it. Portable; fixed capacity, no heap.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/arch/aarch64/sctlr.hpp"
#include "core/vcpu/exit.hpp"
#include "core/vgic/interrupt.hpp"

namespace bulkhead::vcpu {

// One access as a device sees it: the offset inside its region, the data little-endian.
struct MmioRequest {
  uint64_t offset = 0;
  uint64_t value = 0;  // write: the data (width bytes); read: what the device returns
  uint8_t width = 0;
  bool write = false;
  uint8_t vcpu = 0;  // the vCPU making the access
};

enum class MmioResult : uint8_t {
  handled,
  unhandled,   // the device implements nothing there: read as zero, write ignored, log it
  refused,     // the guest gets an external abort
  needs_lock,  // a direct handler called without the VM's lock did nothing: call it with the lock
};

// Whether a direct handler runs with the VM's lock held (MmioDirectHandlers).
enum class MmioLock : uint8_t { not_held, held };

class MmioDevice {
 public:
  // `events`: what the access asks of the interrupt controller (lines, kicks).
  virtual MmioResult access(MmioRequest& request, vgic::Events& events) = 0;

 protected:
  ~MmioDevice() = default;
};

// A region's direct handlers, for a device whose accesses never concern the interrupt
// controller (the vPCI configuration space): plain calls with the offset inside the
// region, no request, no events, no virtual call, so the trap path that serves the
// region's simple accesses stays short. Such a region takes at most 4 bytes per access
// (add() refuses more). A write gets the guest's register as it is: only its low `width`
// bytes are the data, the handler masks what it keeps (most keep a byte or nothing).
//
// The trap path calls them first without the VM's lock (MmioLock::not_held), from any of
// the VM's vCPUs at once: they may then answer only from state that changes while none of
// the VM's vCPUs runs, or by single aligned atomic accesses, and otherwise return
// needs_lock having done nothing; the trap path then takes the lock and calls again
// (MmioLock::held), where they may do anything. Called with the lock, never needs_lock.
//
// A direct read's answer, in one register: handled, the data zero-extended from the
// access's width (it goes to the guest's register as it is); otherwise bit 63 set, with
// the result and, for an unhandled read, the data below it. One bit test on the trap path.
class MmioDirectRead {
 public:
  static constexpr MmioDirectRead handled(uint32_t value) { return MmioDirectRead(value); }
  static constexpr MmioDirectRead not_handled(MmioResult result, uint32_t value = 0) {
    return MmioDirectRead(not_handled_bit | uint64_t{static_cast<uint8_t>(result)} << result_shift | value);
  }
  constexpr bool is_handled() const { return (bits_ & not_handled_bit) == 0; }
  // What a handled read puts in the guest's register.
  constexpr uint64_t register_value() const { return bits_; }
  constexpr uint32_t value() const { return static_cast<uint32_t>(bits_); }
  constexpr MmioResult result() const { return static_cast<MmioResult>(static_cast<uint8_t>(bits_ >> result_shift)); }

 private:
  static constexpr unsigned result_shift = 32;
  static constexpr uint64_t not_handled_bit = uint64_t{1} << 63;
  explicit constexpr MmioDirectRead(uint64_t bits) : bits_(bits) {}
  uint64_t bits_;
};
using MmioDirectReadHandler = MmioDirectRead (*)(void* context, uint64_t offset, unsigned width, MmioLock lock);
using MmioDirectWriteHandler = MmioResult (*)(void* context, uint64_t offset, unsigned width, uint64_t guest_register,
                                              MmioLock lock);
struct MmioDirectHandlers {
  MmioDirectReadHandler read = nullptr;
  MmioDirectWriteHandler write = nullptr;
  void* context = nullptr;
};

// Access widths as a mask: bit n allows (1 << n)-byte accesses.
namespace widths {
constexpr uint8_t bytes_1 = 1u << 0;
constexpr uint8_t bytes_2 = 1u << 1;
constexpr uint8_t bytes_4 = 1u << 2;
constexpr uint8_t bytes_8 = 1u << 3;
constexpr uint8_t any = bytes_1 | bytes_2 | bytes_4 | bytes_8;
constexpr bool allows(uint8_t mask, unsigned width) {
  return width != 0 && (width & (width - 1)) == 0 && width <= 8 && (mask & width) != 0;
}
}  // namespace widths

// MmioRegion::fast_accesses's bit for an access of 1 << `size_log2` bytes at `address`.
constexpr unsigned fast_access_index(unsigned size_log2, uint64_t address) {
  return size_log2 * 4 + static_cast<unsigned>(address & 3);
}

struct MmioRegion {
  const char* name = "";
  uint64_t base = 0;
  uint64_t size = 0;
  MmioDevice* device = nullptr;  // nullptr: `direct` serves the region
  uint8_t widths = widths::any;
  bool unaligned = false;  // accept accesses not aligned to their width
  // Set by MmioRegistry::add(), whatever the caller gave: the accesses the region always
  // takes whole, as the fast path asks it (one bit test instead of a width and an
  // alignment test). Bit fast_access_index(log2(width), address) is set when an access
  // of that width (1, 2, 4) at such an address is aligned, and the region's base and size
  // are multiples of 4 and it wants alignment.
  uint16_t fast_accesses = 0;
  MmioDirectHandlers direct;
  // (64 bytes in all on a 64-bit target: the registry's index is a shift. Callers name
  // the fields they set.)

  constexpr bool contains(uint64_t address) const { return address - base < size; }
};
static_assert(sizeof(void*) != 8 || sizeof(MmioRegion) == 64, "MmioRegistry::hinted indexes regions by a shift");

enum class RegistrationError : uint8_t { none, full, empty, wraps, no_device, no_widths, overlap, two_devices, direct_width };
const char* registration_error_name(RegistrationError error);

class MmioRegistry {
 public:
  static constexpr size_t capacity = 16;
  static_assert((capacity & (capacity - 1)) == 0, "hinted() masks the hint");

  // Refuses an empty or wrapping range, a missing width mask, a region with no device or
  // incomplete direct handlers, or with both, direct handlers with 8-byte accesses, and any
  // overlap with a region already registered (`conflict` then names it).
  RegistrationError add(const MmioRegion& region, const MmioRegion** conflict = nullptr);
  // Emptied slots hold empty regions again, which contain nothing (hinted()).
  void clear() {
    while (count_ > 0) regions_[--count_] = MmioRegion();
  }

  // The region holding `address`, or nullptr.
  const MmioRegion* find(uint64_t address) const {
    for (size_t i = 0; i < count_; ++i) {
      if (regions_[i].contains(address)) return &regions_[i];
    }
    return nullptr;
  }
  // The same, trying the region at index `hint` first and leaving the found region's
  // index there: a vCPU keeps one, since a driver's accesses tend to stay in one region.
  const MmioRegion* find(uint64_t address, uint8_t& hint) const {
    if (hinted(hint).contains(address)) return &hinted(hint);
    for (size_t i = 0; i < count_; ++i) {
      if (!regions_[i].contains(address)) continue;
      hint = static_cast<uint8_t>(i);
      return &regions_[i];
    }
    return nullptr;
  }
  // Whether `region` takes this access: all its bytes inside, width allowed, aligned.
  static MmioRefusal check(const MmioRegion& region, MmioAccess access) {
    if (!widths::allows(region.widths, access.width)) return MmioRefusal::width;
    if (!region.unaligned && (access.address & (access.width - 1)) != 0) return MmioRefusal::alignment;
    // The last byte must be inside too (an unaligned access at the region's end).
    if (!region.contains(access.address + access.width - 1)) return MmioRefusal::width;
    return MmioRefusal::none;
  }
  // check() for an access of 1, 2 or 4 bytes (a simple_data_abort): whether it would
  // answer none, without the width's validity tests the syndrome already settles.
  static bool accepts_simple(const MmioRegion& region, uint64_t address, unsigned width) {
    return (region.widths & width) != 0 && (region.unaligned || (address & (width - 1)) == 0) &&
           region.contains(address + width - 1);
  }
  // The region at index `hint`, whatever the hint: a slot past the last region holds an
  // empty one, which contains no address. No bounds compare on the trap path.
  const MmioRegion& hinted(uint8_t hint) const { return regions_[hint & (capacity - 1)]; }
  size_t size() const { return count_; }
  const MmioRegion& at(size_t index) const { return regions_[index]; }

 private:
  MmioRegion regions_[capacity] = {};
  size_t count_ = 0;
};

// A region's access through its direct handlers (MmioRegion::direct), as MmioDevice::access
// would make it, with the VM's lock held; request.width is at most 4 (add() sees to it).
inline MmioResult direct_access(const MmioRegion& region, MmioRequest& request) {
  const MmioDirectHandlers& direct = region.direct;
  if (request.write) return direct.write(direct.context, request.offset, request.width, request.value, MmioLock::held);
  const MmioDirectRead answer = direct.read(direct.context, request.offset, request.width, MmioLock::held);
  request.value = answer.value();
  return answer.result();
}

// Whether a data abort at `address` (in `region`, or none) takes the emulation fast path:
// a simple access (simple_data_abort) the region accepts, by a guest whose data accesses
// are little-endian (SCTLR_EL1 given). Everything else, refusals included, goes through
// the full decode, which gives the reason.
inline bool mmio_fast_path(const MmioRegion* region, arch::Esr esr, uint64_t sctlr_el1, uint64_t address) {
  if (region == nullptr || !simple_data_abort_syndrome(esr) || !arch::sctlr::data_little_endian_everywhere(sctlr_el1)) {
    return false;
  }
  // An aligned access of a width the region takes whole (fast_accesses). Else the full test.
  if (((region->fast_accesses >> fast_access_index(esr.access_size_log2(), address)) & 1) != 0) return true;
  const unsigned width = esr.access_size();
  return width <= 4 && MmioRegistry::accepts_simple(*region, address, width);
}

}  // namespace bulkhead::vcpu
