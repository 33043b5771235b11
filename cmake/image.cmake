# The AArch64 EL2 hypervisor: freestanding C++20, linked with Debian's arm64 libfdt.a.
# Everything is compiled once into `bulkhead_target`; cmake/image_link.cmake then links
# one image per package (the default one and those the tests boot).
enable_language(ASM)

set(arm64_root "${BULKHEAD_CACHE}/arm64-root")
set(libfdt_archive "${arm64_root}/usr/lib/aarch64-linux-gnu/libfdt.a")
if(NOT EXISTS "${libfdt_archive}")
  message(FATAL_ERROR "arm64 libfdt not found at ${libfdt_archive}: run scripts/setup.sh")
endif()

# -mgeneral-regs-only: the hypervisor never touches FP/SIMD, so guest FP state survives
# traps without saving it. -mstrict-align: early boot runs with the MMU off (Device memory).
# -mno-outline-atomics: atomics inline (exclusive load/store pairs, Armv8.0), not calls to
# libgcc helpers that pick LSE at run time from a flag no constructor of ours sets.
# -O2 (after Release's -O3): -O3's unrolling and cloning cost 60 KB of .text for 2% of
# the boot's instructions; the hot loops are unrolled by hand where it pays. -O3's limit
# for inlining functions not declared inline keeps the trap path as fast as at -O3
# (plain -O2 adds 700 instructions to a null hypercall).
set(BULKHEAD_FREESTANDING_FLAGS
  -ffreestanding -fno-exceptions -fno-rtti -fno-threadsafe-statics -fno-use-cxa-atexit
  -fno-builtin -nostdlib -mgeneral-regs-only -mstrict-align -mno-outline-atomics -fno-pie -fno-pic
  -fstack-protector-strong -ffunction-sections -fdata-sections -g -O2 --param=max-inline-insns-auto=30)
# Stack evidence for tests/cert/stack_check.py: each function's frame (.su), the calls the
# compiler knows of (.ci, indirect ones included) and, for each indirect call, whether it is
# a virtual call and of which method (the final GIMPLE, *.optimized). No single frame may
# take more than a quarter of a 16 KiB stack.
set(BULKHEAD_STACK_FLAGS -fstack-usage -Wstack-usage=4096 -fcallgraph-info=su -fdump-tree-optimized)
target_compile_options(bulkhead_portable PRIVATE ${BULKHEAD_FREESTANDING_FLAGS} ${BULKHEAD_STACK_FLAGS})
# libfdt's header (libfdt_env.h) includes a few libc headers for declarations only.
target_include_directories(bulkhead_portable SYSTEM PUBLIC "${arm64_root}/usr/include")
target_compile_definitions(bulkhead_portable PUBLIC BULKHEAD_TARGET=1)

add_library(bulkhead_target OBJECT)
target_compile_options(bulkhead_target PRIVATE ${BULKHEAD_WARNINGS}
  $<$<COMPILE_LANGUAGE:CXX>:${BULKHEAD_FREESTANDING_FLAGS}> $<$<COMPILE_LANGUAGE:CXX>:${BULKHEAD_STACK_FLAGS}>)
target_link_libraries(bulkhead_target PUBLIC bulkhead_portable)
file(GLOB system_boot CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/partitions/boot/*.cpp)
target_sources(bulkhead_target PRIVATE ${system_boot})

# -Os for code that runs only on rare events or writes reports: crash and fault reports,
# function resets, the ITS's device mapping and the SMMU's event service, the boot reports
# and the boot timeline. Measured on the probe-bench image (issue 10; .text, first and
# second partition's first instruction; null-hvc, gicd-read, ecam and irq figures):
#   all -O2 (before):                                    346,492 B  377,168  459,840
#   -Os on these files (and msi_routing.cpp):            337,676 B  377,424  460,080
#   -Os on every boot-time file (DT readers, description,
#     guest DT, plan, enumeration, ITS and SMMU bring-up): 288,732 B  416,576  507,504
#   -Os on boot files but the parsers and the loader:    323,628 B  380,800  463,488
#   -O2 without the inline param on every boot file:     339,484 B  377,904  461,200
# The boot's parsers and writers run tens of thousands of instructions before the first
# guest instruction and -Os makes them 10% slower, so they stay -O2. A second reason to keep
# the list short: an inline function or template that hot and cold files both use is kept
# once, from whichever object the linker meets first, so a -Os copy can land on a hot
# path (with the ITS and SMMU files at -Os, irq-latency read 714 instead of 699). The
# files here share no such code with the exit paths (all figures unchanged but boot +256).
# msi_routing.cpp is not here: PartitionMsi::deliver() runs for every MSI (at -Os,
# msi-latency read 778 instead of 774).
set(cold_sources
  core/its/driver_events.cpp core/lib/crash_report.cpp core/lib/bootargs.cpp core/lib/boot_timeline.cpp
  core/boot/boot_timeline.cpp core/platform/platform_report.cpp pci/pci_report.cpp pci/vpci/vpci_report.cpp
  partitions/summary.cpp pci/reset.cpp pci/reset_batch.cpp pci/reset_method.cpp partitions/boot/reset_runtime.cpp
  smmu/faults.cpp smmu/driver_service.cpp)
list(TRANSFORM cold_sources PREPEND "${CMAKE_SOURCE_DIR}/")
set_source_files_properties(${cold_sources} PROPERTIES COMPILE_OPTIONS "-Os")
