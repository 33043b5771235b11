// The state of one virtual interrupt as a partition's GIC holds it, the events a state
// change asks the target to act on, and the register semantics the distributor and the
// redistributors share. Portable: no hardware is touched here; see core/vgic/README.md.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/arch/aarch64/gic_registers.hpp"
#include "core/arch/aarch64/intid.hpp"

namespace bulkhead::vgic {

constexpr uint32_t sgi_count = arch::Intid::sgi_count;
constexpr uint32_t private_interrupt_count = arch::Intid::private_count;  // SGIs + PPIs, banked per vCPU
constexpr uint32_t first_spi = arch::Intid::first_spi;
constexpr uint32_t last_spi = arch::Intid::last_spi;
constexpr uint32_t spurious_intid = arch::Intid::spurious_value;
constexpr uint8_t max_vcpus = 16;
// Per partition: platform devices, INTx lines, virtual devices and the message-based SPIs
// (MBI) its PCI functions' MSIs arrive as.
constexpr size_t max_owned_spis = 128;

// Identification shared by the distributor and the redistributors. Implementer 0x43b
// (Arm's JEP106 code, as KVM does for its emulated GIC) with product 0x42 ('B'). PIDR2 0x3b:
// ArchRev 3 (GICv3), JEDEC-assigned, DES_1 = Arm.
constexpr uint32_t gic_iidr = (0x42u << 24) | 0x43b;
constexpr uint32_t gic_pidr2 = arch::gic_id::pidr2_arch_gicv3;

// Outcome of one guest access. `unhandled` means the offset or width is not one the model
// implements: the access was treated as RAZ/WI and the caller may log it (once).
enum class AccessResult : uint8_t { handled, unhandled };

// What the target must do to the physical GIC after a guest access. Hardware-backed
// interrupts are identity-mapped (virtual INTID == physical INTID).
enum class HardwareRequest : uint8_t {
  enable,      // GICD_ISENABLER (SPI) / the vCPU's physical GICR_ISENABLER0 (PPI)
  disable,     // GICD_ICENABLER / GICR_ICENABLER0
  route,       // GICD_IROUTER: route the SPI to the physical CPU running `vcpu`
  activate,    // set the physical active state, so the guest's deactivation of the
               // hardware-backed list register has a physical interrupt to deactivate
  deactivate,  // clear the physical active state: the virtual one was neither pending nor active
  clear_pending,  // GICD_ICPENDR / GICR_ICPENDR0: what the physical GIC latched goes too
};
const char* hardware_request_name(HardwareRequest request);

struct HardwareEvent {
  HardwareRequest request = HardwareRequest::enable;
  // SPIs: the vCPU it is delivered to (0xff: none). PPIs: the owning vCPU, whose CPU alone
  // may act on it (VirtualGic hands another vCPU's PPI requests to that vCPU).
  uint8_t vcpu = 0;
  uint16_t physical_intid = 0;
};

// Everything one access changed that the target must act on. At most two hardware events
// per interrupt per access (clear-pending and deactivate), and one access touches at most
// 32 interrupts.
struct Events {
  static constexpr size_t capacity = 64;
  // The counters first: every exit touches them (clear(), has_effects()), and they leave
  // no padding (struct Vcpu holds one, and pads 3 bytes only with Events a multiple of 8).
  // vCPUs whose deliverable interrupts may have changed: refill their list registers
  // before they next run (a vCPU running on another CPU needs an IPI to exit).
  uint32_t kick_vcpus = 0;
  // A message-based SPI (the partition's MBI range) whose target vCPU the guest changed
  // (GICD_IROUTER, one interrupt per access): the target moves the LPIs that deliver it
  // to the new vCPU's CPU. 0: none.
  uint16_t rerouted_message_spi = 0;
  uint8_t hardware_count = 0;
  bool hardware_overflow = false;  // never expected; the target should log it
  // Only the first hardware_count are meaningful. Exits use per-CPU Events (cleared with
  // clear(), not constructed), so they do not pay for initialising the array.
  HardwareEvent hardware[capacity] = {};

  void add(HardwareRequest request, uint8_t vcpu, uint16_t physical_intid);
  void clear() {
    hardware_count = 0;
    hardware_overflow = false;
    kick_vcpus = 0;
    rerouted_message_spi = 0;
  }
  void kick(uint8_t vcpu) {
    if (vcpu < max_vcpus) kick_vcpus |= uint32_t{1} << vcpu;
  }
};

// One interrupt. `pending_latch` holds edges and software pends (GICD_ISPENDR, SGIs,
// messages); a level-triggered interrupt is also pending while its line is asserted (a
// guest ICPENDR write cannot clear an asserted line, as on real hardware). For a virtual
// device the line is the device's; for a hardware-backed level interrupt it is the
// physical line as EL2 last saw it (asserted when it took the interrupt, sampled again
// while the virtual one waits: virtual_gic.hpp).
struct InterruptState {
  static constexpr uint8_t no_vcpu = 0xff;
  uint16_t intid = 0;
  uint16_t physical_intid = 0;  // meaningful when `hardware`
  uint8_t priority = 0;
  // The vCPU it is delivered to, whose list registers alone may hold it. Private
  // interrupts: the owning vCPU. SPIs: `routed_vcpu`, except that an SPI stays with the
  // vCPU whose list registers hold it (active, or offered to a running guest) until it
  // has left them, as on KVM: then it follows its routing.
  uint8_t target_vcpu = 0;
  uint8_t routed_vcpu = 0;  // SPIs: what GICD_IROUTER designates (no_vcpu: no vCPU)
  bool hardware = false;
  bool group1 = true;
  bool edge = false;
  bool edge_at_reset = false;  // from the description (SPIs), architecture (SGIs edge, PPIs level)
  bool enabled = false;
  bool pending_latch = false;
  bool line_asserted = false;  // level-triggered: see above
  bool active = false;
  bool message = false;  // an SPI of the partition's MBI range: GICD_SETSPI_NSR/CLRSPI_NSR reach it
  // Pended again while a running vCPU's list register offered it pending: whether the
  // guest took the first pend before this one only that vCPU's next fold can tell
  // (virtual_gic.hpp). Cleared by that fold. `repend_line`: the same for a hardware level
  // interrupt that fired again (its line, not the latch, is then pending again).
  bool repend = false;
  bool repend_line = false;
  // Deactivated by another vCPU's guest (ICACTIVER) while a running vCPU's list register
  // offered it pending: that guest may have acknowledged it meanwhile, which only its
  // next fold can tell; the fold applies the deactivation after what its guest did.
  bool deactivate_at_fold = false;
  uint64_t router = 0;   // SPIs: the GICD_IROUTER value as the guest wrote it (masked)

  bool pending() const { return pending_latch || (!edge && line_asserted); }
  // The physical interrupt of a hardware-backed one must stay active exactly as long as
  // the virtual one is pending or active: the guest's deactivation releases it.
  bool needs_physical_active() const { return hardware && (pending() || active); }
};

// The physical GIC as the virtual one may look at it: whether a physical interrupt is
// pending there, i.e. latched or, for a level-sensitive one, its line asserted (a PPI: on
// the CPU that runs vCPU `vcpu`). Reads only. The target implements it on the GIC; tests
// on a simulated one.
class PhysicalInterrupts {
 public:
  virtual bool pending(uint8_t vcpu, uint16_t physical_intid) const = 0;

 protected:
  ~PhysicalInterrupts() = default;
};

// The 1-bit-per-interrupt registers, identical in GICD_* (SPIs) and GICR_* (SGIs/PPIs).
enum class BitRegister : uint8_t {
  group,           // IGROUPR: each bit assigns
  set_enable,      // ISENABLER / ICENABLER read the enable bits
  clear_enable,    //
  set_pending,     // ISPENDR / ICPENDR read the pending state
  clear_pending,   //
  set_active,      // ISACTIVER / ICACTIVER read the active state
  clear_active,    //
  group_modifier,  // IGRPMODR: RAZ/WI with a single security state (GICD_CTLR.DS == 1)
};

// Register offsets and fields: core/arch/aarch64/gic_registers.hpp, shared with the
// physical GIC driver.
namespace gic_bank = arch::gic_bank;
namespace gic_id = arch::gic_id;
namespace gicd = arch::gicd;
namespace gicr = arch::gicr;

// The distributor's message-based SPI registers (IHI 0069 12.9.19-22) and GICD_TYPER.MBIS.
// Named here because core/arch/aarch64/gic_registers.hpp names only GICD_SETSPI_NSR yet.
namespace gicd_message {
constexpr uint64_t setspi_nsr = arch::gicd::setspi_nsr;
constexpr uint64_t clrspi_nsr = 0x0048;
constexpr uint64_t setspi_sr = 0x0050;
constexpr uint64_t clrspi_sr = 0x0058;
constexpr uint32_t intid_mask = 0x1fff;  // INTID [12:0]; the rest is RES0
constexpr uint32_t typer_mbis = 1u << 16;
}  // namespace gicd_message

// Which bitmap register an offset in [0x080, 0x400) or [0xd00, 0xd80) names; false otherwise.
// Inline: it is on the path of every trapped GIC register access.
inline bool bit_register_at(uint64_t offset, BitRegister& which, uint32_t& register_index) {
  if (offset >= gic_bank::igroupr && offset < gic_bank::ipriorityr) {
    // Seven consecutive 128-byte blocks, in BitRegister order.
    which = static_cast<BitRegister>((offset - gic_bank::igroupr) / gic_bank::bitmap_block);
    register_index = static_cast<uint32_t>((offset % gic_bank::bitmap_block) / 4);
    return true;
  }
  if (offset >= gic_bank::igrpmodr && offset < gic_bank::igrpmodr + gic_bank::bitmap_block) {
    which = BitRegister::group_modifier;
    register_index = static_cast<uint32_t>((offset - gic_bank::igrpmodr) / 4);
    return true;
  }
  return false;
}

// An access the GIC register models take: 1, 2, 4 or 8 bytes, naturally aligned, inside
// a frame of `frame_size` bytes. Masks, not division: on every trapped access.
constexpr bool valid_access(uint64_t offset, unsigned width, uint64_t frame_size) {
  return width != 0 && width <= 8 && (width & (width - 1)) == 0 && (offset & (width - 1)) == 0 && offset < frame_size;
}

// A hardware-backed interrupt also reads pending while its physical interrupt is (a
// disabled one with its line asserted, as on hardware); `physical` may be null (then only
// the virtual state counts).
bool read_bit(const InterruptState& irq, BitRegister which, const PhysicalInterrupts* physical);
// Applies one bit of a guest write; `bit` is the written value (set/clear registers act
// only on ones). Adds hardware events and kicks the interrupt's vCPU when state changed;
// a clear-pending of a hardware-backed one that `physical` (may be null) says is pending
// clears it there too.
void write_bit(InterruptState& irq, BitRegister which, bool bit, Events& events, const PhysicalInterrupts* physical);
// IPRIORITYR byte; `mask` keeps the implemented priority bits (upper ones).
void write_priority(InterruptState& irq, uint8_t value, uint8_t mask, Events& events);
// ICFGR field (2 bits, bit 1 = edge). SGIs are edge and read-only.
uint32_t read_config(const InterruptState& irq);
void write_config(InterruptState& irq, uint32_t field, Events& events);

// The priority mask for `bits` implemented priority bits (5 on Cortex-A57: 32 levels).
constexpr uint8_t priority_mask(uint8_t bits) {
  return bits >= 8 ? uint8_t{0xff} : static_cast<uint8_t>(0xff00u >> bits);
}

}  // namespace bulkhead::vgic
