# Builds the images of tests/package/esp_idf with the cairn tool, then
# reads them back as raw dumps, as a device would see its partitions.
# cmake -DCAIRN_SOURCE_DIR=<repo> -DCAIRN_TOOL=<cairn> -DWORK_DIR=<scratch>
#       [-DGENERATOR=Ninja] -P run.cmake
cmake_minimum_required(VERSION 3.20)
foreach(var CAIRN_SOURCE_DIR CAIRN_TOOL WORK_DIR)
  if(NOT ${var})
    message(FATAL_ERROR "run.cmake: -D${var}=... is required")
  endif()
endforeach()
set(generator_args)
if(GENERATOR)
  set(generator_args -G ${GENERATOR})
endif()
file(REMOVE_RECURSE ${WORK_DIR})

function(run step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc
                  OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "esp-idf image test: ${step} failed (${rc}):\n${output}")
  endif()
  message(STATUS "esp-idf image test: ${step}: ok")
  set(last_output "${output}" PARENT_SCOPE)
endfunction()

run("configure" ${CMAKE_COMMAND}
    -S ${CAIRN_SOURCE_DIR}/tests/package/esp_idf -B ${WORK_DIR}
    ${generator_args} -DCAIRN_SOURCE_DIR=${CAIRN_SOURCE_DIR}
    -DCAIRN_TOOL=${CAIRN_TOOL})
run("build" ${CMAKE_COMMAND} --build ${WORK_DIR})

foreach(entry "settings;32768" "factory;16384")
  list(GET entry 0 partition)
  list(GET entry 1 expected_size)
  set(bin ${WORK_DIR}/${partition}.bin)
  file(SIZE ${bin} size)
  if(NOT size EQUAL expected_size)
    message(FATAL_ERROR "${partition}.bin has ${size} bytes, expected "
            "${expected_size} (the raw partition bytes)")
  endif()
  # The raw bytes, with only the geometry a device knows.
  run("${partition}: read back" ${CAIRN_TOOL} kv get ${bin} device_name
      --sector-size 4096 --alignment 4)
  if(NOT last_output MATCHES "cairn-demo")
    message(FATAL_ERROR "${partition}: device_name reads '${last_output}'")
  endif()
  run("${partition}: check u32" ${CAIRN_TOOL} kv get ${bin} boot_count
      --as u32 --sector-size 4096 --alignment 4)
  if(NOT last_output MATCHES "^7[\r\n]*$")
    message(FATAL_ERROR "${partition}: boot_count reads '${last_output}'")
  endif()
endforeach()

# An image larger than its partition must fail the build.
file(WRITE ${WORK_DIR}-big/layout.csv "geometry,4096,8,4\nkvs,settings,0,8\n")
file(WRITE ${WORK_DIR}-big/CMakeLists.txt
     "cmake_minimum_required(VERSION 3.20)\nproject(big NONE)\n"
     "function(partition_table_get_partition_info r a i)\n"
     "  if(i STREQUAL \"size\")\n    set(\${r} 0x4000 PARENT_SCOPE)\n"
     "  else()\n    set(\${r} 0x9000 PARENT_SCOPE)\n  endif()\nendfunction()\n"
     "include(${CAIRN_SOURCE_DIR}/project_include.cmake)\n"
     "cairn_create_partition_image(settings layout.csv)\n")
run("oversized: configure" ${CMAKE_COMMAND} -S ${WORK_DIR}-big
    -B ${WORK_DIR}-big/build ${generator_args} -DCAIRN_TOOL=${CAIRN_TOOL})
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}-big/build
                RESULT_VARIABLE rc OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(rc EQUAL 0 OR NOT output MATCHES "holds 16384")
  message(FATAL_ERROR "an oversized image was not refused:\n${output}")
endif()
message(STATUS "esp-idf image test: oversized image refused: ok")
message(STATUS "esp-idf image test: all passed")
