// The guest device tree's message-based SPIs: the GIC node's msi-controller and
// mbi-ranges (INTIDs), the PCI host bridge's msi-parent, only when the hypervisor says its
// virtual GIC implements them; Linux's GICv3 MBI driver reads exactly these.
#include "partition_guest_dt_support.hpp"

using namespace bulkhead::partitions;
using namespace bulkhead::partitions::guest_dt_test;

TEST_CASE("guest dt: message-based SPIs make the GIC an MSI controller and the PCI bridge's msi-parent") {
  Partition partition = linux_partition();
  partition.pci_device_count = 1;
  partition.msi_spis = {false, true, 32, 64};
  GuestDtInput input = input_for(partition);
  input.virtual_pci = true;
  input.message_interrupts = true;
  const GuestDt dt(input);
  const std::string gic = "/intc@8000000";
  CHECK(dt.properties(gic) == Names{"compatible", "#interrupt-cells", "interrupt-controller", "#address-cells",
                                    "#size-cells", "ranges", "reg", "#redistributor-regions", "interrupts",
                                    "msi-controller", "mbi-ranges", "phandle"});
  CHECK(dt.raw(gic, "msi-controller").empty());
  CHECK(dt.cells(gic, "mbi-ranges") == Cells{64, 64});  // INTIDs: SPI 32 is INTID 64
  CHECK(!dt.has(gic, "#msi-cells"));                    // MBIs need no specifier
  const std::string pcie = "/pcie@3f000000";
  CHECK(dt.cells(pcie, "msi-parent") == Cells{guest_gic_phandle});
  CHECK(dt.phandle_target(dt.cells(pcie, "msi-parent")[0]) == "intc@8000000");
  CHECK(!dt.has(pcie, "msi-map"));
  const std::string dts = dt.decompile("mbi");
  CHECK(contains(dts, "\t\tmsi-controller;\n"));
  CHECK(contains(dts, "\t\tmbi-ranges = <0x40 0x40>;\n"));
  CHECK(contains(dts, "\t\tmsi-parent = <0x01>;\n"));
}

TEST_CASE("guest dt: no MSI properties unless the hypervisor implements them and the partition has a range") {
  Partition partition = linux_partition();
  partition.pci_device_count = 1;
  partition.msi_spis = {false, true, 32, 64};
  GuestDtInput input = input_for(partition);
  input.virtual_pci = true;
  {
    const GuestDt dt(input);  // message_interrupts not set
    CHECK(!dt.has("/intc@8000000", "msi-controller"));
    CHECK(!dt.has("/intc@8000000", "mbi-ranges"));
    CHECK(!dt.has("/pcie@3f000000", "msi-parent"));
  }
  input.message_interrupts = true;
  partition.msi_spis = {};
  {
    const GuestDt dt(input);  // no range
    CHECK(!dt.has("/intc@8000000", "mbi-ranges"));
    CHECK(!dt.has("/pcie@3f000000", "msi-parent"));
  }
  // Without PCI functions the GIC still offers the range (platform MSIs could use it).
  Partition bare = bare_metal_partition();
  bare.msi_spis = {true, true, 64, 8};
  GuestDtInput bare_input = input_for(bare);
  bare_input.message_interrupts = true;
  const GuestDt dt(bare_input);
  CHECK(dt.cells("/intc@8000000", "mbi-ranges") == Cells{96, 8});
  CHECK(!dt.has_node("/pcie@3f000000"));
}

TEST_CASE("guest dt: a range that is not SPIs is an error naming the partition") {
  Partition partition = linux_partition();
  GuestDtInput input = input_for(partition);
  input.message_interrupts = true;
  std::vector<uint64_t> buffer(guest_dtb_reserve / 8);
  size_t size = 0;
  for (const MessageSpis& spis : {MessageSpis{false, true, 32, 0}, MessageSpis{false, true, 960, 32},
                                  MessageSpis{false, true, 32, 65}}) {
    partition.msi_spis = spis;
    GuestDtError error;
    CHECK_FALSE(write_guest_dt(input, buffer.data(), guest_dtb_reserve, size, error));
    CHECK(std::string(error.message) == "partition linux: msi-spis " + std::to_string(spis.first) + " count " +
                                            std::to_string(spis.count) + " are not SPIs");
  }
}
