// The list-register fast path driven the way the target drives it, against a simulated
// GICv3 virtual CPU interface (vgic_lr_model.hpp): seeded pseudo-random physical
// interrupts, SGIs, device lines and guest register writes (enable/disable, priority,
// pending/active set/clear, group, routing, GICD_CTLR, GICR_WAKER) interleaved with guest
// acknowledgements, EOIs and deactivations, for 1, 2, 4 and 16 list registers and 1-3
// vCPUs, then a drain that must deliver everything exactly once. Every violation names
// its seed and ends with the operations that led to it. Every race is on (level lines
// dropped while their LR is live elsewhere, SPIs rerouted while held, more actives than
// LRs, new pends before the last acknowledgement is folded) and no known defect is
// tolerated; vgic_lr_fast_path_test.cpp has one targeted test per defect the model found.
#include <doctest/doctest.h>

#include <initializer_list>
#include <memory>
#include <string>

#include "tests/unit/vgic_lr_model.hpp"

namespace {

struct Run {
  lr_model::Stats stats;
  std::vector<std::string> violations;
};

Run run(const lr_model::Options& options) {
  auto machine = std::make_unique<lr_model::Machine>(options.vcpus, options.lrs, options);
  REQUIRE(machine->configured());
  lr_model::Random random(options.seed);
  machine->boot(random);
  for (unsigned step = 0; step < options.steps && machine->violations.empty(); ++step) machine->random_step(random);
  if (machine->violations.empty()) {
    machine->drain(random);
    machine->final_checks();
  }
  return {machine->stats, machine->violations};
}

std::string describe(const lr_model::Options& options) {
  return "seed " + std::to_string(options.seed) + ", " + std::to_string(options.lrs) + " LRs, " +
         std::to_string(options.vcpus) + " vCPUs, " + std::to_string(options.steps) + " steps";
}

void add(lr_model::Stats& total, const lr_model::Stats& run) {
  total.exits += run.exits;
  total.syncs += run.syncs;
  total.lr_writes += run.lr_writes;
  total.overflow_syncs += run.overflow_syncs;
  total.acks += run.acks;
  total.hardware_acks += run.hardware_acks;
  total.maintenance_exits += run.maintenance_exits;
  total.noop_exits += run.noop_exits;
  total.pending_active_lrs += run.pending_active_lrs;
  total.stale_acks += run.stale_acks;
  total.kicks += run.kicks;
  total.duplicate_acks += run.duplicate_acks;
  total.eoi_maintenance_exits += run.eoi_maintenance_exits;
  total.kept_actives += run.kept_actives;
  total.icc_traps += run.icc_traps;
  total.withdrawn_at_acknowledge += run.withdrawn_at_acknowledge;
  total.unchecked_acks += run.unchecked_acks;
  total.taken_at_once += run.taken_at_once;
  total.hardware_level_at_once += run.hardware_level_at_once;
  total.refires += run.refires;
  for (size_t i = 0; i < lr_model::known_count; ++i) total.known[i] += run.known[i];
}

// One model run per LR count (1, 2, 4, 16), vCPU count and seed in [first_seed, last_seed]
// (each run's seed derived from all three), handed to `each` with its options.
struct Sweep {
  std::initializer_list<uint8_t> vcpus;
  uint64_t first_seed = 1;
  uint64_t last_seed = 1;
  uint64_t seed_scale = 1000;
  unsigned steps = 1500;
  bool ticking_timers = false;
};

template <typename Each>
void sweep(const Sweep& sweep, Each each) {
  for (const unsigned lrs : {1u, 2u, 4u, 16u}) {
    for (const uint8_t vcpus : sweep.vcpus) {
      for (uint64_t seed = sweep.first_seed; seed <= sweep.last_seed; ++seed) {
        lr_model::Options options;
        options.vcpus = vcpus;
        options.lrs = lrs;
        options.seed = seed * sweep.seed_scale + uint64_t{lrs} * 10 + vcpus;
        options.steps = sweep.steps;
        options.ticking_timers = sweep.ticking_timers;
        each(options, run(options));
      }
    }
  }
}

}  // namespace

TEST_CASE("vgic lr model: random interrupt traffic through fold and sync keeps every invariant") {
  lr_model::Stats total;
  unsigned runs_with_known = 0;
  sweep({.vcpus = {1, 2, 3}, .first_seed = 1, .last_seed = 8}, [&](const lr_model::Options& options, const Run& result) {
    CAPTURE(describe(options));
    for (const std::string& violation : result.violations) FAIL_CHECK(violation);
    add(total, result.stats);
    unsigned known = 0;
    for (const unsigned count : result.stats.known) known += count;
    runs_with_known += known != 0 ? 1 : 0;
  });
  MESSAGE("exits " << total.exits << ", syncs " << total.syncs << ", LR writes " << total.lr_writes
                   << ", overflowing syncs " << total.overflow_syncs << ", acks " << total.acks << " (hardware "
                   << total.hardware_acks << ", from stale LRs " << total.stale_acks << "), maintenance exits "
                   << total.maintenance_exits << ", no-op exits " << total.noop_exits << ", pending+active LRs "
                   << total.pending_active_lrs << ", kicks " << total.kicks << ", EOI maintenance exits "
                   << total.eoi_maintenance_exits << ", second deliveries of an ambiguous re-pend "
                   << total.duplicate_acks << ", ICC traps " << total.icc_traps << " (hardware level lines withdrawn "
                   << total.withdrawn_at_acknowledge << ", acknowledged unchecked after a trap " << total.unchecked_acks
                   << "), taken at once by an unmasked guest " << total.taken_at_once << " (hardware level, untrapped "
                   << total.hardware_level_at_once << "); known defects hit in " << runs_with_known << " of 96 runs");
  CHECK(runs_with_known == 0);
  // The traffic reached what the test is about: a model that never overflowed its LRs,
  // never took a maintenance interrupt or a hardware interrupt would prove nothing.
  CHECK(total.overflow_syncs > 1000);
  CHECK(total.maintenance_exits > 1000);
  CHECK(total.hardware_acks > 500);
  CHECK(total.noop_exits > 5000);
  CHECK(total.pending_active_lrs > 1000);
  CHECK(total.kicks > 1000);
  CHECK(total.eoi_maintenance_exits > 100);
  CHECK(total.icc_traps > 100);
  CHECK(total.withdrawn_at_acknowledge > 10);
  // Unmasked guests took interrupts at once, hardware level ones among them with the
  // acknowledgement check left off (VirqQueue::taken_at_once).
  CHECK(total.taken_at_once > 500);
  CHECK(total.hardware_level_at_once > 10);
}

// Ticking hardware timers: the interrupt exit's fast path (VirtualGic::refire, a hardware
// interrupt going straight back into the LR its guest has just finished with) taken often,
// among everything else, under every check above.
TEST_CASE("vgic lr model: ticking hardware timers through the refire fast path keep every invariant") {
  lr_model::Stats total;
  const Sweep ticking{.vcpus = {1, 2, 3}, .first_seed = 1, .last_seed = 6, .seed_scale = 7000, .ticking_timers = true};
  sweep(ticking, [&](const lr_model::Options& options, const Run& result) {
    CAPTURE(describe(options));
    for (const std::string& violation : result.violations) FAIL_CHECK(violation);
    add(total, result.stats);
  });
  MESSAGE("exits " << total.exits << ", through the refire fast path " << total.refires << ", hardware acks "
                   << total.hardware_acks << ", hardware level taken at once " << total.hardware_level_at_once
                   << ", ICC traps " << total.icc_traps);
  CHECK(total.refires > 300);
  CHECK(total.hardware_level_at_once > 100);
  CHECK(total.icc_traps > 100);
}

// Longer runs on more vCPUs (more of everything racing), other seeds.
TEST_CASE("vgic lr model: longer runs with every race and no known defect tolerated") {
  unsigned failing = 0;
  unsigned runs = 0;
  sweep({.vcpus = {2, 3, 4}, .first_seed = 9, .last_seed = 12, .steps = 4000},
        [&](const lr_model::Options& options, const Run& result) {
          ++runs;
          if (result.violations.empty()) return;
          ++failing;
          if (failing <= 3) {
            CAPTURE(describe(options));
            FAIL_CHECK(result.violations.front());
          }
        });
  MESSAGE(failing << " of " << runs << " runs violate an invariant");
  CHECK(failing == 0);
}
