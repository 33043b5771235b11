# bulkhead_package(OUTPUT <package.bin> CONFIG <description.dts> BOARD <board folder>
#                  PAYLOAD_DIR <dir> [TARGET <name> [ALL]] [SUMMARY])
#
# Build rules that compile the description and boards/<BOARD>/board.dts with dtc, then
# run bulkhead-config to check the description and write the package. A violation fails
# the build with `FILE: /node: RULE: explanation` lines naming the .dts. Rebuilds when
# the .dts (or anything it /include/s), the board, the tool or a payload file changes.
# TARGET adds a custom target that builds the package (part of `all` with ALL); the
# caller may instead depend on OUTPUT directly. SUMMARY prints the
# tool's --summary table into the build log. Host build only (the tool is a host program).
function(bulkhead_package)
  cmake_parse_arguments(PARSE_ARGV 0 arg "SUMMARY;ALL" "OUTPUT;CONFIG;BOARD;PAYLOAD_DIR;TARGET" "")
  foreach(required OUTPUT CONFIG BOARD PAYLOAD_DIR)
    if(NOT arg_${required})
      message(FATAL_ERROR "bulkhead_package: ${required} is required")
    endif()
  endforeach()
  get_filename_component(config "${arg_CONFIG}" ABSOLUTE BASE_DIR "${CMAKE_SOURCE_DIR}")
  get_filename_component(output "${arg_OUTPUT}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
  get_filename_component(payload_dir "${arg_PAYLOAD_DIR}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
  set(board_dts "${CMAKE_SOURCE_DIR}/boards/${arg_BOARD}/board.dts")
  if(NOT EXISTS "${board_dts}")
    message(FATAL_ERROR "bulkhead_package: no board definition ${board_dts}")
  endif()
  # Violation lines name the sources as the integrator knows them (relative to the tree).
  file(RELATIVE_PATH config_shown "${CMAKE_SOURCE_DIR}" "${config}")
  if(config_shown MATCHES "^\\.\\./")
    set(config_shown "${config}")
  endif()
  file(RELATIVE_PATH board_shown "${CMAKE_SOURCE_DIR}" "${board_dts}")

  # Per-output names, so several packages (and several callers) never share a rule.
  set(config_dtb "${output}.description.dtb")
  set(board_dtb "${output}.board.dtb")
  # Unit addresses (pci-device@0) are indices, not reg values: that dtc check does not apply.
  add_custom_command(OUTPUT "${config_dtb}"
    COMMAND ${DTC} -Wno-unit_address_vs_reg -I dts -O dtb -d "${config_dtb}.d" -o "${config_dtb}" "${config}"
    DEPENDS "${config}"
    DEPFILE "${config_dtb}.d"
    COMMENT "dtc ${config_shown}"
    VERBATIM)
  add_custom_command(OUTPUT "${board_dtb}"
    COMMAND ${DTC} -I dts -O dtb -o "${board_dtb}" "${board_dts}"
    DEPENDS "${board_dts}"
    COMMENT "dtc ${board_shown}"
    VERBATIM)

  set(summary_argument "")
  if(arg_SUMMARY)
    set(summary_argument --summary)
  endif()
  add_custom_command(OUTPUT "${output}"
    COMMAND $<TARGET_FILE:bulkhead_config> --board "${board_dtb}" --board-source "${board_shown}"
            --source "${config_shown}" --payload-dir "${payload_dir}" --depfile "${output}.d"
            --package "${output}" ${summary_argument} "${config_dtb}"
    DEPENDS bulkhead_config "${config_dtb}" "${board_dtb}"
    DEPFILE "${output}.d"
    COMMENT "bulkhead-config ${config_shown} -> ${output}"
    VERBATIM)
  if(arg_TARGET)
    set(in_all "")
    if(arg_ALL)
      set(in_all ALL)
    endif()
    add_custom_target(${arg_TARGET} ${in_all} DEPENDS "${output}")
  endif()
endfunction()
