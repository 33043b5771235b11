// A lock for the few shared things at EL2 (the console). Waiters sleep in WFE; the
// release sends an event. The owner is recorded so a CPU that crashes while holding
// the lock can still report.
#pragma once

#include <cstdint>

#include "core/arch/aarch64/sysreg.hpp"

namespace bulkhead::arch {

class SpinLock {
 public:
  // Returns false if the lock is held by this CPU already (a nested crash report).
  bool lock() {
    const uint64_t me = arch::own_mpidr() + 1;
    if (__atomic_load_n(&owner_, __ATOMIC_RELAXED) == me) return false;
    uint64_t expected = 0;
    while (!__atomic_compare_exchange_n(&owner_, &expected, me, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
      arch::wait_for_event();
      expected = 0;
    }
    return true;
  }
  // For a lock never taken twice by one CPU (no nesting check): `owner` is any non-zero
  // value naming the holder, e.g. the vCPU's address, so the fast path reads no register.
  // The free lock is taken in four instructions (every guest exit takes one): an
  // exclusive load-acquire, free?, an exclusive store, stored?; a held one waits out of line.
  void lock_as(uint64_t owner) {
    // x16/x17 (the intra-procedure-call scratch registers) as clobbers, not outputs: GCC 12
    // drops an asm goto whose outputs go unused.
    asm goto(
        "1: ldaxr x16, [%[lock]]\n"
        "   cbnz x16, %l[held]\n"
        "   stxr w17, %[owner], [%[lock]]\n"
        "   cbnz w17, 1b"
        :
        : [lock] "r"(&owner_), [owner] "r"(owner)
        : "x16", "x17", "memory"
        : held);
    return;
    // cppcheck-suppress unusedLabel ; the asm goto above jumps here
  held:
    wait_then_lock(owner);
  }
  // Takes the lock if it is free; never waits. `owner` as for lock_as.
  bool try_lock_as(uint64_t owner) {
    uint64_t expected = 0;
    return __atomic_compare_exchange_n(&owner_, &expected, owner, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
  }
  bool try_lock() { return try_lock_as(arch::own_mpidr() + 1); }
  // A CPU that stops after an EL2 crash lets go of what it held through lock().
  void release_if_held_by_this_cpu() {
    uint64_t me = arch::own_mpidr() + 1;
    if (__atomic_compare_exchange_n(&owner_, &me, 0, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) arch::send_event();
  }
  void unlock() {
    __atomic_store_n(&owner_, 0, __ATOMIC_RELEASE);
    arch::send_event();
  }

 private:
  [[gnu::noinline, gnu::cold]] void wait_then_lock(uint64_t owner) {
    uint64_t expected = 0;
    while (!__atomic_compare_exchange_n(&owner_, &expected, owner, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
      arch::wait_for_event();
      expected = 0;
    }
  }

  uint64_t owner_ = 0;
};

// Holds `lock` for a scope, unless this CPU already holds it (a nested crash report).
class SpinLockGuard {
 public:
  explicit SpinLockGuard(SpinLock& lock) : lock_(lock), locked_(lock.lock()) {}
  ~SpinLockGuard() {
    if (locked_) lock_.unlock();
  }
  SpinLockGuard(const SpinLockGuard&) = delete;
  SpinLockGuard& operator=(const SpinLockGuard&) = delete;

 private:
  SpinLock& lock_;
  bool locked_;
};

}  // namespace bulkhead::arch
