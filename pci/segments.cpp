#include "pci/segments.hpp"

#include "core/lib/log.hpp"

namespace bulkhead::pci {
namespace {

constexpr uint32_t max_segment_number = 0xffff;

bool claimed_explicitly(const PcieHostInfo* hosts, size_t host_count, uint32_t number) {
  for (size_t i = 0; i < host_count; ++i) {
    if (hosts[i].domain_from_dt && hosts[i].domain == number) return true;
  }
  return false;
}

bool given_earlier(const SegmentAssignment* out, size_t count, uint32_t number) {
  for (size_t i = 0; i < count; ++i) {
    if (out[i].valid && out[i].number == number) return true;
  }
  return false;
}

}  // namespace

bool assign_segments(const PcieHostInfo* hosts, size_t host_count, SegmentAssignment* out) {
  bool all_valid = true;
  // Explicit numbers first: an assigned number must never take one a later node claims.
  for (size_t i = 0; i < host_count; ++i) {
    out[i] = SegmentAssignment{};
    const PcieHostInfo& host = hosts[i];
    if (!host.domain_from_dt) continue;
    if (host.domain > max_segment_number) {
      log::error("pci-segment: {}: linux,pci-domain {} is above {}; host bridge not enumerated", host.path.text,
                 host.domain, max_segment_number);
      all_valid = false;
      continue;
    }
    size_t first_claimant = i;
    for (size_t j = 0; j < i; ++j) {
      if (hosts[j].domain_from_dt && hosts[j].domain == host.domain) {
        first_claimant = j;
        break;
      }
    }
    if (first_claimant != i) {
      log::error("pci-segment: {} and {} both claim linux,pci-domain {}; {} not enumerated",
                 hosts[first_claimant].path.text, host.path.text, host.domain, host.path.text);
      all_valid = false;
      continue;
    }
    out[i] = {true, true, static_cast<uint16_t>(host.domain)};
  }
  for (size_t i = 0; i < host_count; ++i) {
    if (hosts[i].domain_from_dt) continue;
    uint32_t candidate = 0;
    while (candidate <= max_segment_number &&
           (claimed_explicitly(hosts, host_count, candidate) || given_earlier(out, i, candidate))) {
      ++candidate;
    }
    out[i] = {true, false, static_cast<uint16_t>(candidate)};  // at most 8 hosts: always found
  }
  return all_valid;
}

}  // namespace bulkhead::pci
