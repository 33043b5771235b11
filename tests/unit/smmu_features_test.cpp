// Probing: what the ID registers say, what Bulkhead refuses, which stage it picks.
#include <doctest/doctest.h>

#include <string>

#include "smmu/features.hpp"
#include "tests/sim/sim_smmu.hpp"

using namespace bulkhead;
using namespace bulkhead::smmu;

namespace {

Features features_of(const sim::SimSmmuConfig& config) { return decode_features(config.idr, 0, 0); }

Needs qemu_needs() {
  Needs needs;
  needs.sid_bits = 16;
  needs.sid_source = "/pcie@10000000";
  needs.highest_address = 0xbfffffff;  // 2 GiB of RAM at 1 GiB
  needs.context_count = 8;
  needs.guest_address_bits = 40;
  return needs;
}

std::string refusal(const sim::SimSmmuConfig& config, const Needs& needs = qemu_needs()) {
  const StageChoice choice = choose_stage(features_of(config), needs);
  CHECK_FALSE(choice.usable);
  return choice.refusal.c_str();
}

}  // namespace

TEST_CASE("smmu features: QEMU 7.2's SMMU decodes and gets stage 1") {
  const Features f = features_of(sim::SimSmmuConfig::qemu_7_2());
  CHECK(f.stage1);
  CHECK_FALSE(f.stage2);
  CHECK(f.aarch64_tables);
  CHECK(f.coherent);
  CHECK(f.two_level_stream_table);
  CHECK(f.granule_4k);
  CHECK(f.asid16);
  CHECK_FALSE(f.vmid16);
  CHECK(f.stall == StallModel::none);
  CHECK(f.sid_bits == 16);
  CHECK(f.output_address_bits == 44);
  CHECK(f.cmdq_log2_max == 19);
  CHECK(f.eventq_log2_max == 19);
  const StageChoice choice = choose_stage(f, qemu_needs());
  CHECK(choice.usable);
  CHECK(choice.stage == Stage::one);
  CHECK(choice.stage2_note.size() == 0);
}

TEST_CASE("smmu features: stage 2 is chosen when implemented and usable") {
  const StageChoice choice = choose_stage(features_of(sim::SimSmmuConfig::two_stages()), qemu_needs());
  CHECK(choice.usable);
  CHECK(choice.stage == Stage::two);
}

TEST_CASE("smmu features: stage 2 below the guest address space falls back to stage 1, with the reason") {
  sim::SimSmmuConfig config = sim::SimSmmuConfig::two_stages();
  config.idr[5] = (config.idr[5] & ~7u) | 1;  // OAS 36 bits
  const StageChoice choice = choose_stage(features_of(config), qemu_needs());
  CHECK(choice.usable);
  CHECK(choice.stage == Stage::one);
  CHECK(std::string(choice.stage2_note.c_str()) ==
        "output addresses of 36 bits (IDR5.OAS) are below the 40-bit guest address space");
  config.idr[0] &= ~2u;  // and no stage 1
  CHECK(refusal(config) ==
        "stage 2 only, and stage 2 is unusable: output addresses of 36 bits (IDR5.OAS) are below the 40-bit guest "
        "address space");
}

TEST_CASE("smmu features: each missing feature is named") {
  sim::SimSmmuConfig c = sim::SimSmmuConfig::qemu_7_2();
  c.idr[0] &= ~3u;
  CHECK(refusal(c) == "neither stage 1 nor stage 2 translation (IDR0.S1P 0, IDR0.S2P 0)");

  c = sim::SimSmmuConfig::qemu_7_2();
  c.idr[0] = (c.idr[0] & ~(3u << 2)) | (1u << 2);  // AArch32 tables only
  CHECK(refusal(c) == "no AArch64 translation table format (IDR0.TTF 1)");

  c = sim::SimSmmuConfig::qemu_7_2();
  c.idr[0] |= 3u << 21;  // big-endian walks only
  CHECK(refusal(c) == "big-endian translation tables only (IDR0.TTENDIAN 3)");

  c = sim::SimSmmuConfig::qemu_7_2();
  c.idr[5] &= ~(1u << 4);
  CHECK(refusal(c) == "no 4 KiB translation granule (IDR5.GRAN4K 0)");

  c = sim::SimSmmuConfig::qemu_7_2();
  c.idr[1] = (c.idr[1] & ~0x3fu) | 8;
  CHECK(refusal(c) ==
        "StreamIDs of 8 bits (IDR1.SIDSIZE) cannot hold the 16-bit StreamIDs of the iommu-map of /pcie@10000000");

  c = sim::SimSmmuConfig::qemu_7_2();
  c.idr[5] &= ~7u;  // OAS 32 bits
  Needs high = qemu_needs();
  high.highest_address = 0x13fffffffull;
  CHECK(refusal(c, high) == "output addresses of 32 bits (IDR5.OAS 0) cannot reach RAM up to 0x13fffffff");

  c = sim::SimSmmuConfig::qemu_7_2();
  c.idr[1] |= 1u << 30;
  CHECK(refusal(c) ==
        "the stream table or the queues are fixed by the implementation (IDR1.TABLES_PRESET 1, IDR1.QUEUES_PRESET 0)");

  c = sim::SimSmmuConfig::qemu_7_2();
  c.idr[0] &= ~(1u << 12);  // 8-bit ASIDs
  Needs many = qemu_needs();
  many.context_count = 300;
  CHECK(refusal(c, many) == "300 contexts need more ASIDs than 255 (IDR0.ASID16 0)");
}

TEST_CASE("smmu features: stall models") {
  sim::SimSmmuConfig c = sim::SimSmmuConfig::qemu_7_2();
  c.idr[0] &= ~(3u << 24);
  CHECK(features_of(c).stall == StallModel::optional);
  c.idr[0] |= 2u << 24;
  CHECK(features_of(c).stall == StallModel::forced);
}

TEST_CASE("smmu features: both table formats will do, presets and reserved sizes are named") {
  sim::SimSmmuConfig c = sim::SimSmmuConfig::qemu_7_2();
  c.idr[0] |= 3u << 2;  // TTF: AArch32 and AArch64
  CHECK(features_of(c).aarch64_tables);
  CHECK(choose_stage(features_of(c), qemu_needs()).usable);

  c = sim::SimSmmuConfig::qemu_7_2();
  c.idr[1] |= 1u << 29;
  CHECK(refusal(c) ==
        "the stream table or the queues are fixed by the implementation (IDR1.TABLES_PRESET 0, IDR1.QUEUES_PRESET 1)");

  c = sim::SimSmmuConfig::qemu_7_2();
  c.idr[5] |= 7u;  // OAS 0b111: reserved, no size
  CHECK(features_of(c).output_address_bits == 0);
  CHECK(refusal(c) == "output addresses of 0 bits (IDR5.OAS 7) cannot reach RAM up to 0xbfffffff");
}

TEST_CASE("smmu features: more contexts than 8-bit VMIDs leave stage 2 for stage 1, or refuse a stage-2-only SMMU") {
  sim::SimSmmuConfig c = sim::SimSmmuConfig::two_stages();
  c.idr[0] &= ~(1u << 18);  // 8-bit VMIDs
  Needs many = qemu_needs();
  many.context_count = 300;
  const StageChoice choice = choose_stage(features_of(c), many);
  CHECK(choice.usable);
  CHECK(choice.stage == Stage::one);  // 16-bit ASIDs
  CHECK(std::string(choice.stage2_note.c_str()) == "300 contexts need more VMIDs than 255 (IDR0.VMID16 0)");
  CHECK(choose_stage(features_of(c), qemu_needs()).stage == Stage::two);  // 8 are fine
  c.idr[0] &= ~2u;
  CHECK(refusal(c, many) == "stage 2 only, and stage 2 is unusable: 300 contexts need more VMIDs than 255 (IDR0.VMID16 0)");
}
