# One image per package: BULKHEAD_PACKAGES is a list of NAME=PATH; NAME.img is written
# to the build directory (the default is bulkhead=...). Only the package differs.
if(NOT BULKHEAD_PACKAGES)
  message(FATAL_ERROR "BULKHEAD_PACKAGES (packages made by bulkhead-config) is empty: build from the top level")
endif()
set(image_ld ${CMAKE_SOURCE_DIR}/core/arch/aarch64/image.ld)
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/images)
foreach(pair IN LISTS BULKHEAD_PACKAGES)
  string(REPLACE "=" ";" parts "${pair}")
  list(GET parts 0 name)
  list(GET parts 1 package)
  if(NOT EXISTS "${package}")
    message(FATAL_ERROR "package ${package} for image ${name} does not exist")
  endif()
  add_executable(image_${name} ${CMAKE_SOURCE_DIR}/partitions/boot/package.S)
  set_target_properties(image_${name} PROPERTIES OUTPUT_NAME ${name}.elf SUFFIX "" LINK_DEPENDS ${image_ld})
  target_compile_definitions(image_${name} PRIVATE "BULKHEAD_PACKAGE_FILE=\"${package}\"")
  set_property(SOURCE ${CMAKE_SOURCE_DIR}/partitions/boot/package.S APPEND PROPERTY OBJECT_DEPENDS "${package}")
  # max-page-size: the image uses 4 KiB pages, and ld starts a new (non-executable,
  # writable) segment only where the sections are on different pages of that size.
  target_link_options(image_${name} PRIVATE -nostdlib -static -no-pie -T ${image_ld} -Wl,--gc-sections
    -Wl,--build-id=none -Wl,-z,noexecstack -Wl,-z,max-page-size=4096
    -Wl,--defsym=BULKHEAD_LINK_ADDRESS=${BULKHEAD_LINK_ADDRESS}
    -Wl,-Map=${CMAKE_BINARY_DIR}/${name}.map)  # which objects are in the image: tests/cert/tcb_size.py
  target_link_libraries(image_${name} PRIVATE bulkhead_target bulkhead_portable "${libfdt_archive}" gcc)
  add_custom_command(TARGET image_${name} POST_BUILD
    COMMAND ${CMAKE_OBJCOPY} -O binary $<TARGET_FILE:image_${name}> ${CMAKE_BINARY_DIR}/images/${name}.img
    COMMAND ${CMAKE_COMMAND} -E copy $<TARGET_FILE:image_${name}> ${CMAKE_BINARY_DIR}/images/${name}.elf
    COMMENT "Writing ${name}.img")
endforeach()
