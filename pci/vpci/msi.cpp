#include "pci/vpci/msi.hpp"

#include "core/lib/format.hpp"
#include "pci/vpci/access.hpp"
#include "pci/vpci/vpci_registers.hpp"

namespace bulkhead::pci::vpci {
namespace {

constexpr uint32_t all_vectors = 0xffffffffu;

unsigned log2_of(unsigned count) {
  unsigned bits = 0;
  while ((1u << bits) < count) ++bits;
  return bits;
}

uint32_t vector_bits(unsigned count) { return count >= 32 ? all_vectors : (1u << count) - 1; }

// Bytes of `value` selected by `mask` replace those of `old`.
uint32_t merged(uint32_t old, uint32_t value, uint8_t mask) {
  const uint32_t bits = byte_bits(mask);
  return (old & ~bits) | (value & bits);
}

}  // namespace

const char* message_kind_name(MessageKind kind) { return kind == MessageKind::msi ? "msi" : "msix"; }

bool MsiHandler::configure(const MessageSetup& setup, VirtualPciBus& bus) {
  if (setup.function == nullptr || setup.host == nullptr || setup.router == nullptr) return false;
  const MsiInfo& msi = setup.function->caps.msi;
  if (msi.offset == 0) return false;
  setup_ = setup;
  cap_ = msi.offset;
  address_64bit_ = msi.address_64bit;
  per_vector_mask_ = msi.per_vector_mask;
  capable_log2_ = log2_of(msi.vectors);
  if (!bus.attach_capability(setup.slot, CapabilityKind::msi, *this)) return false;
  // The function starts disabled and, where it can, with every vector masked.
  physical_enabled_ = false;
  physical_mme_ = 0;
  write_physical(reg::msi::control, AccessWidth::half, 0);
  if (per_vector_mask_) {
    physical_mask_ = vector_bits(1u << capable_log2_);
    write_physical(reg::msi::mask(address_64bit_), AccessWidth::word, physical_mask_);
  }
  return true;
}

void MsiHandler::write_physical(uint16_t at, AccessWidth width, uint32_t value) {
  setup_.host->config_write(*setup_.function, static_cast<uint16_t>(cap_ + at), width, value);
}

uint16_t MsiHandler::physical_control() const {
  return static_cast<uint16_t>(physical_mme_ << reg::msi::control_enabled_shift |
                               (physical_enabled_ ? reg::msi::control_enable : 0));
}

uint32_t MsiHandler::read_config(uint16_t offset) {
  const uint16_t at = static_cast<uint16_t>(offset - cap_);
  if (at == 0) {
    const uint32_t own = setup_.host->config_read(*setup_.function, cap_, AccessWidth::word) >> 16;
    return (static_cast<uint32_t>((own & reg::msi::control_read_through) | control_)) << 16;
  }
  if (at == reg::msi::address_low) return static_cast<uint32_t>(address_);
  if (address_64bit_ && at == reg::msi::address_high) return static_cast<uint32_t>(address_ >> 32);
  if (at == reg::msi::data(address_64bit_)) return data_;
  if (per_vector_mask_ && at == reg::msi::mask(address_64bit_)) return mask_;
  if (per_vector_mask_ && at == reg::msi::pending(address_64bit_)) {
    // The function holds a masked vector's message pending itself.
    return setup_.host->config_read(*setup_.function, static_cast<uint16_t>(cap_ + at), AccessWidth::word) &
           vector_bits(1u << capable_log2_);
  }
  return 0;
}

void MsiHandler::write_config(uint16_t offset, uint32_t value, uint8_t byte_mask) {
  const uint16_t at = static_cast<uint16_t>(offset - cap_);
  if (at == 0) {
    uint16_t control = static_cast<uint16_t>(merged(uint32_t{control_} << 16, value, byte_mask) >> 16);
    unsigned enabled_log2 = (control >> reg::msi::control_enabled_shift) & reg::msi::control_vectors_field;
    // More vectors than the function has is undefined by the spec: it gets what it has.
    if (enabled_log2 > capable_log2_) enabled_log2 = capable_log2_;
    control = static_cast<uint16_t>((control & reg::msi::control_enable) | enabled_log2 << reg::msi::control_enabled_shift);
    if (control == control_) return;
    control_ = control;
  } else if (at == reg::msi::address_low) {
    address_ = (address_ & ~uint64_t{0xffffffff}) |
               (merged(static_cast<uint32_t>(address_), value, byte_mask) & reg::msi::address_low_mask);
  } else if (address_64bit_ && at == reg::msi::address_high) {
    address_ = (address_ & 0xffffffff) | uint64_t{merged(static_cast<uint32_t>(address_ >> 32), value, byte_mask)} << 32;
  } else if (at == reg::msi::data(address_64bit_)) {
    data_ = merged(data_, value, byte_mask) & reg::msi::data_mask;  // extended message data: not emulated
  } else if (per_vector_mask_ && at == reg::msi::mask(address_64bit_)) {
    mask_ = merged(mask_, value, byte_mask) & vector_bits(1u << capable_log2_);
  } else {
    return;  // pending bits are read-only; nothing else is there
  }
  apply();
}

void MsiHandler::disable_physical() {
  if (!physical_enabled_) return;
  physical_enabled_ = false;
  write_physical(reg::msi::control, AccessWidth::half, physical_control());
}

void MsiHandler::unbind_all() {
  for (unsigned i = 0; i < reg::msi::max_vectors; ++i) {
    if (bound_spi_[i] == 0) continue;
    setup_.router->unbind(*setup_.function, MessageKind::msi, static_cast<uint16_t>(i));
    bound_spi_[i] = 0;
  }
}

// Brings the function and the router in line with the guest's registers.
void MsiHandler::apply() {
  if (!enabled()) {
    disable_physical();  // the function stops first, then its translations go
    unbind_all();
    invalid_vectors_ = 0;
    return;
  }
  const unsigned count = vectors();
  // The message each vector sends: the guest's data with the vector number in the bits
  // Multiple Message Enable gives the function.
  uint32_t wanted[reg::msi::max_vectors] = {};
  bool changes = false;
  invalid_vectors_ = 0;
  for (unsigned i = 0; i < reg::msi::max_vectors; ++i) {
    if (i < count) wanted[i] = setup_.target.spi_of(address_, (data_ & ~(count - 1)) | i);
    if (i < count && wanted[i] == 0) invalid_vectors_ |= 1u << i;
    changes = changes || wanted[i] != bound_spi_[i];
  }
  if (changes && physical_enabled_) {
    // Nothing may be sent while a translation changes: masked where the function can
    // mask (it holds the messages pending meanwhile), disabled otherwise.
    if (per_vector_mask_) {
      physical_mask_ = vector_bits(1u << capable_log2_);
      write_physical(reg::msi::mask(address_64bit_), AccessWidth::word, physical_mask_);
    } else {
      disable_physical();
    }
  }
  bool any_bound = false;
  uint32_t refused = 0;  // valid, but the router could not bind them (it, or bind(), said why)
  for (unsigned i = 0; i < reg::msi::max_vectors; ++i) {
    if (wanted[i] != bound_spi_[i]) {
      if (bound_spi_[i] != 0) {
        setup_.router->unbind(*setup_.function, MessageKind::msi, static_cast<uint16_t>(i));
        bound_spi_[i] = 0;
      }
      if (wanted[i] != 0 && bind(i, wanted[i])) bound_spi_[i] = wanted[i];
      if (wanted[i] != 0 && bound_spi_[i] == 0) refused |= 1u << i;
    }
    any_bound = any_bound || bound_spi_[i] != 0;
  }
  if (invalid_vectors_ != 0 && !bad_message_logged_) {
    bad_message_logged_ = true;
    FixedBuffer<256> line;
    format(line, "partition {} vpci 00:{}.0 msi vectors {} address {} data {}: not one of its SPIs at {}; not delivered",
           setup_.partition, plain_hex(setup_.slot, 2), hex(invalid_vectors_), hex(address_), hex(data_),
           hex(setup_.target.doorbell));
    setup_.host->log(line.c_str());
  }
  if (!any_bound) {  // nothing to deliver: the function stays off
    disable_physical();
    return;
  }
  // The function sends the doorbell and the event of vector 0 plus the vector number.
  const auto mme = static_cast<uint16_t>(log2_of(count));
  if (physical_enabled_ && (doorbell_ != physical_address_ || event_base_ != physical_data_ || mme != physical_mme_)) {
    disable_physical();  // never reprogrammed while it may send
  }
  if (doorbell_ != physical_address_) {
    physical_address_ = doorbell_;
    write_physical(reg::msi::address_low, AccessWidth::word, static_cast<uint32_t>(doorbell_));
    if (address_64bit_) write_physical(reg::msi::address_high, AccessWidth::word, static_cast<uint32_t>(doorbell_ >> 32));
  }
  if (event_base_ != physical_data_) {
    physical_data_ = event_base_;
    write_physical(reg::msi::data(address_64bit_), AccessWidth::half, event_base_ & reg::msi::data_mask);
  }
  physical_mme_ = mme;
  if (per_vector_mask_) {
    const uint32_t mask = (mask_ | invalid_vectors_ | refused) & vector_bits(1u << capable_log2_);
    if (mask != physical_mask_) {
      physical_mask_ = mask;
      write_physical(reg::msi::mask(address_64bit_), AccessWidth::word, mask);
    }
  }
  if (!physical_enabled_) {
    physical_enabled_ = true;
    write_physical(reg::msi::control, AccessWidth::half, physical_control());
  }
}

// One vector through the router. Its event must be the function's event base plus the
// vector number (the function adds it), at a doorbell the function can address.
bool MsiHandler::bind(unsigned vector, uint32_t spi) {
  const auto index = static_cast<uint16_t>(vector);
  const PhysicalMessage bound = setup_.router->bind(*setup_.function, MessageKind::msi, index, spi);
  if (!bound.ok) return false;
  const bool fits = bound.data >= vector && (bound.data - vector) % vectors() == 0 &&
                    (bound.data - vector) <= reg::msi::data_mask && (address_64bit_ || bound.address >> 32 == 0);
  const bool same = !have_message_ || (bound.address == doorbell_ && bound.data - vector == event_base_);
  if (!fits || !same) {
    setup_.router->unbind(*setup_.function, MessageKind::msi, index);
    if (!refusal_logged_) {
      refusal_logged_ = true;
      FixedBuffer<256> line;
      format(line, "partition {} vpci 00:{}.0 msi vector {}: doorbell {} event {} cannot be programmed into its MSI "
             "capability; not delivered", setup_.partition, plain_hex(setup_.slot, 2), vector, hex(bound.address),
             hex(bound.data));
      setup_.host->log(line.c_str());
    }
    return false;
  }
  have_message_ = true;
  doorbell_ = bound.address;
  event_base_ = bound.data - vector;
  return true;
}

void MsiHandler::reset() {
  if (setup_.function == nullptr) return;  // not configured yet: the bus links before configure() returns
  disable_physical();
  if (per_vector_mask_) {
    physical_mask_ = vector_bits(1u << capable_log2_);
    write_physical(reg::msi::mask(address_64bit_), AccessWidth::word, physical_mask_);
  }
  unbind_all();
  // A function reset (pci/reset.hpp) clears the function's address and data: written
  // again when the guest enables it next, whatever they held before.
  physical_address_ = 0;
  physical_data_ = 0;
  physical_mme_ = 0;
  control_ = 0;
  address_ = 0;
  data_ = 0;
  mask_ = 0;
  invalid_vectors_ = 0;
  bad_message_logged_ = false;
  refusal_logged_ = false;
}

}  // namespace bulkhead::pci::vpci
