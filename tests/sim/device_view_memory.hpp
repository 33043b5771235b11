// Memory shared with simulated hardware, seen two ways as a CPU with caches and a
// non-coherent device see it: the CPU view is what the driver writes and reads (the
// allocator `Pool` hands it out), the device view what the hardware reads and writes
// (the CPU view itself when the device is coherent). Fresh device memory holds
// `device_fill` bytes until the driver publishes (cleans) what it wrote. The ITS's and
// the SMMU's simulated memories (sim_its.hpp, sim_smmu.hpp) are this over their drivers'
// allocators.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace bulkhead::sim {

template <typename Pool>
class DeviceViewMemory : public Pool {
 public:
  DeviceViewMemory(const DeviceViewMemory&) = delete;
  DeviceViewMemory& operator=(const DeviceViewMemory&) = delete;

  // The hardware side. A coherent device reads and writes the CPU view directly.
  void set_device_coherent(bool coherent) { device_coherent_ = coherent; }
  bool device_coherent() const { return device_coherent_; }
  bool device_read(uint64_t physical, void* out, uint64_t bytes) const {
    if (!holds(physical, bytes)) return false;
    std::memcpy(out, (device_coherent_ ? cpu_ : device_) + (physical - base_), bytes);
    return true;
  }
  bool device_write(uint64_t physical, const void* data, uint64_t bytes) {
    if (!holds(physical, bytes)) return false;
    std::memcpy((device_coherent_ ? cpu_ : device_) + (physical - base_), data, bytes);
    return true;
  }
  uint64_t publishes() const { return publishes_; }
  uint64_t base() const { return base_; }
  uint64_t size() const { return size_; }

 protected:
  DeviceViewMemory(uint64_t size, uint64_t physical_base, uint8_t device_fill)
      : cpu_(static_cast<uint8_t*>(std::calloc(size, 1))),
        device_(static_cast<uint8_t*>(std::malloc(size))),
        base_(physical_base),
        size_(size) {
    std::memset(device_, device_fill, size);
    this->attach(physical_base, cpu_, size);
  }
  ~DeviceViewMemory() {
    std::free(cpu_);
    std::free(device_);
  }

  bool holds(uint64_t physical, uint64_t bytes) const {
    return physical >= base_ && bytes <= size_ && physical - base_ <= size_ - bytes;
  }
  // What the target's cache maintenance does for a non-coherent device: cleaning copies
  // the CPU's writes to the device view, invalidating the device's writes to the CPU view.
  void clean_to_device(uint64_t physical, uint64_t bytes) {
    std::memcpy(device_ + (physical - base_), cpu_ + (physical - base_), bytes);
  }
  void invalidate_from_device(uint64_t physical, uint64_t bytes) {
    std::memcpy(cpu_ + (physical - base_), device_ + (physical - base_), bytes);
  }
  void count_publish() { ++publishes_; }

 private:
  uint8_t* cpu_;
  uint8_t* device_;
  uint64_t base_;
  uint64_t size_;
  bool device_coherent_ = true;
  uint64_t publishes_ = 0;
};

}  // namespace bulkhead::sim
