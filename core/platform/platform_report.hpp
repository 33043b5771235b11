// The platform part of the boot report: what the firmware device tree described, one
// fact per line through log::fact. Hex values carry 0x; counts and interrupt numbers are
// decimal. Lines, in this order (absent optional parts print nothing):
//   bulkhead: ram <base> size <size>                                  one per RAM range
//   bulkhead: psci method <smc|hvc|none>
//   bulkhead: gic-v3 <path> distributor <base> size <size>
//   bulkhead: gic-v3-redistributor <path> base <base> size <size>     one per region
//   bulkhead: gic-v3-its <its path> base <base> size <size>
//   bulkhead: smmu-v3 <path> base <base> size <size>
//   per PCIe host bridge:
//   bulkhead: pcie-host <path> ecam <base> size <size> buses 0x<ff>-0x<ff>
//   bulkhead: pcie-host-domain <path> dt <n>          or: pcie-host-domain <path> none
//   bulkhead: pcie-window <path> <io|mem32|mem64>[ pref] pci <addr> cpu <addr> size <size>
//   bulkhead: pcie-msi-map <path> rid <base> length <n> target <phandle> base <base>
//   bulkhead: pcie-iommu-map <path> rid <base> length <n> target <phandle> base <base>
//   bulkhead: pcie-interrupt-map <path> entries <n>
//   then:
//   bulkhead: timer secure-phys-ppi <n> phys-ppi <n> virt-ppi <n> hyp-ppi <n>
//   bulkhead: bootargs "<text>"                                       when non-empty
#pragma once

#include "core/platform/platform.hpp"

namespace bulkhead {

void report_platform(const PlatformInfo& platform);

}  // namespace bulkhead
