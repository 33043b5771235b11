# Host build: portable code under ASan/UBSan for unit tests and tools, plus the image.
option(BULKHEAD_SANITIZE "Build host code with AddressSanitizer and UBSan" ON)
if(BULKHEAD_SANITIZE)
  set(BULKHEAD_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  # PUBLIC: every host binary links bulkhead_portable, so all of them get sanitized.
  target_compile_options(bulkhead_portable PUBLIC ${BULKHEAD_SANITIZER_FLAGS})
  target_link_options(bulkhead_portable PUBLIC ${BULKHEAD_SANITIZER_FLAGS})
endif()

# Debian's libfdt-dev ships no pkg-config file.
find_path(LIBFDT_INCLUDE_DIR libfdt.h REQUIRED)
find_library(LIBFDT_LIBRARY NAMES libfdt.a fdt REQUIRED)
target_include_directories(bulkhead_portable SYSTEM PUBLIC ${LIBFDT_INCLUDE_DIR})
target_link_libraries(bulkhead_portable PUBLIC ${LIBFDT_LIBRARY})
find_package(doctest REQUIRED)
find_package(Python3 REQUIRED COMPONENTS Interpreter)
find_program(QEMU_SYSTEM_AARCH64 qemu-system-aarch64 REQUIRED)
find_program(DTC dtc REQUIRED)

