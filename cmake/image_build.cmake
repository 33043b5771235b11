# Host build, after every folder is known: the packages (checked description + payloads)
# and the cross-built images that embed them. bulkhead.img carries BULKHEAD_CONFIG; the
# integration tests also boot images of other example descriptions and of the test-only
# ones in tests/configs/ (NAME.img), linked from the same compiled hypervisor.
set(BULKHEAD_CONFIG "${CMAKE_SOURCE_DIR}/configs/default.dts" CACHE FILEPATH
    "Partition description (DTS) that build/bulkhead.img carries")
set(BULKHEAD_TEST_CONFIGS two-linux CACHE STRING "configs/NAME.dts also built as build/NAME.img, for tests")

file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/packages)
set(package_pairs "bulkhead=${CMAKE_BINARY_DIR}/package.bin")
bulkhead_package(OUTPUT ${CMAKE_BINARY_DIR}/package.bin CONFIG ${BULKHEAD_CONFIG} BOARD ${BULKHEAD_BOARD}
                 PAYLOAD_DIR ${BULKHEAD_PAYLOAD_DIR} TARGET package_bulkhead SUMMARY)
add_dependencies(package_bulkhead guest_payloads)
set(package_targets package_bulkhead)
# The test-only descriptions: every tests/configs/NAME.dts (the probe guest's) is built as
# build/NAME.img too.
set(test_config_files)
foreach(name IN LISTS BULKHEAD_TEST_CONFIGS)
  list(APPEND test_config_files ${CMAKE_SOURCE_DIR}/configs/${name}.dts)
endforeach()
file(GLOB test_only_configs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/configs/*.dts)
list(APPEND test_config_files ${test_only_configs})
foreach(config IN LISTS test_config_files)
  get_filename_component(name ${config} NAME_WE)
  set(output ${CMAKE_BINARY_DIR}/packages/${name}.bin)
  bulkhead_package(OUTPUT ${output} CONFIG ${config} BOARD ${BULKHEAD_BOARD}
                   PAYLOAD_DIR ${BULKHEAD_PAYLOAD_DIR} TARGET package_${name})
  add_dependencies(package_${name} guest_payloads)
  list(APPEND package_pairs "${name}=${output}")
  list(APPEND package_targets package_${name})
endforeach()
string(REPLACE ";" "|" package_list "${package_pairs}")

include(ExternalProject)
ExternalProject_Add(hypervisor_image
  SOURCE_DIR ${CMAKE_SOURCE_DIR}
  BINARY_DIR ${CMAKE_BINARY_DIR}/image
  LIST_SEPARATOR |
  CMAKE_ARGS
    -DBULKHEAD_IMAGE=ON
    -DCMAKE_TOOLCHAIN_FILE=${CMAKE_SOURCE_DIR}/cmake/aarch64-linux-gnu.cmake
    -DCMAKE_BUILD_TYPE=Release
    -DBULKHEAD_CACHE=${BULKHEAD_CACHE}
    -DBULKHEAD_BOARD=${BULKHEAD_BOARD}
    -DBULKHEAD_PACKAGES=${package_list}
  INSTALL_COMMAND ${CMAKE_COMMAND} -E copy_directory <BINARY_DIR>/images ${CMAKE_BINARY_DIR}
  DEPENDS ${package_targets}
  BUILD_ALWAYS ON
  USES_TERMINAL_BUILD ON)
