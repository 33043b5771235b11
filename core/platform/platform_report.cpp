#include "core/platform/platform_report.hpp"

#include "core/lib/log.hpp"

namespace bulkhead {
namespace {

const char* conduit_name(PsciConduit conduit) {
  switch (conduit) {
    case PsciConduit::smc: return "smc";
    case PsciConduit::hvc: return "hvc";
    case PsciConduit::none: break;
  }
  return "none";
}

const char* space_name(PciSpace space) {
  switch (space) {
    case PciSpace::io: return "io";
    case PciSpace::mem32: return "mem32";
    case PciSpace::mem64: return "mem64";
  }
  return "?";
}

void report_id_map(const char* fact_name, const char* path, const IdMap& map) {
  for (size_t i = 0; i < map.count; ++i) {
    const IdMapEntry& entry = map.entries[i];
    log::fact("{} {} rid {} length {} target {} base {}", fact_name, path, hex(entry.rid_base), hex(entry.length),
              hex(entry.target_phandle), hex(entry.output_base));
  }
}

void report_pcie_host(const PcieHostInfo& host) {
  const char* path = host.path.text;
  log::fact("pcie-host {} ecam {} size {} buses 0x{}-0x{}", path, hex(host.ecam.base), hex(host.ecam.size),
            plain_hex(host.bus_first, 2), plain_hex(host.bus_last, 2));
  if (host.domain_from_dt) {
    log::fact("pcie-host-domain {} dt {}", path, host.domain);
  } else {
    log::fact("pcie-host-domain {} none", path);
  }
  for (size_t i = 0; i < host.window_count; ++i) {
    const PciWindow& window = host.windows[i];
    log::fact("pcie-window {} {}{} pci {} cpu {} size {}", path, space_name(window.space),
              window.prefetchable ? " pref" : "", hex(window.pci_address), hex(window.cpu_address),
              hex(window.size));
  }
  report_id_map("pcie-msi-map", path, host.msi_map);
  report_id_map("pcie-iommu-map", path, host.iommu_map);
  if (host.interrupt_map_count != 0) log::fact("pcie-interrupt-map {} entries {}", path, host.interrupt_map_count);
}

}  // namespace

void report_platform(const PlatformInfo& platform) {
  for (size_t i = 0; i < platform.ram_count; ++i) {
    log::fact("ram {} size {}", hex(platform.ram[i].base), hex(platform.ram[i].size));
  }
  log::fact("psci method {}", conduit_name(platform.psci.conduit));

  const GicV3Info& gic = platform.gic;
  if (gic.present) {
    log::fact("gic-v3 {} distributor {} size {}", gic.path.text, hex(gic.distributor.base),
              hex(gic.distributor.size));
    for (size_t i = 0; i < gic.redistributor_region_count; ++i) {
      log::fact("gic-v3-redistributor {} base {} size {}", gic.path.text, hex(gic.redistributors[i].base),
                hex(gic.redistributors[i].size));
    }
    if (gic.its_present) {
      log::fact("gic-v3-its {} base {} size {}", gic.its_path.text, hex(gic.its.base), hex(gic.its.size));
    }
  }
  const SmmuV3Info& smmu = platform.smmu;
  if (smmu.present) {
    log::fact("smmu-v3 {} base {} size {}", smmu.path.text, hex(smmu.registers.base), hex(smmu.registers.size));
  }
  for (size_t i = 0; i < platform.pcie_host_count; ++i) report_pcie_host(platform.pcie_hosts[i]);

  const TimerInfo& timer = platform.timer;
  if (timer.present) {
    log::fact("timer secure-phys-ppi {} phys-ppi {} virt-ppi {} hyp-ppi {}", timer.secure_physical_ppi,
              timer.physical_ppi, timer.virtual_ppi, timer.hypervisor_ppi);
  }
  if (platform.bootargs[0] != '\0') log::fact("bootargs \"{}\"", platform.bootargs);
}

}  // namespace bulkhead
