// The package (checked description + payloads, made by bulkhead-config) inside the
// image, before BSS, so a boot loader loads it with the hypervisor.
  .section .rodata.package, "a"
  .balign 4096
  .global bulkhead_package_start
bulkhead_package_start:
  .incbin BULKHEAD_PACKAGE_FILE
  .global bulkhead_package_end
bulkhead_package_end:
