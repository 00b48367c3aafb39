# Builds and runs tests/package (a consumer project) against the cairn
# source tree three ways: add_subdirectory, FetchContent (SOURCE_DIR, no
# network) and find_package after `cmake --install` to a scratch prefix.
# Usage: cmake -DCAIRN_SOURCE_DIR=<repo> -DWORK_DIR=<scratch>
#              [-DGENERATOR=Ninja] [-DCXX_COMPILER=g++] -P run.cmake
cmake_minimum_required(VERSION 3.20)
foreach(var CAIRN_SOURCE_DIR WORK_DIR)
  if(NOT ${var})
    message(FATAL_ERROR "run.cmake: -D${var}=... is required")
  endif()
endforeach()
set(generator_args)
if(GENERATOR)
  list(APPEND generator_args -G ${GENERATOR})
endif()
if(CXX_COMPILER)
  list(APPEND generator_args -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()
set(consumer_dir ${CAIRN_SOURCE_DIR}/tests/package)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc
                  OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "package test: ${step} failed (${rc}):\n${output}")
  endif()
  message(STATUS "package test: ${step}: ok")
  set(last_output "${output}" PARENT_SCOPE)
endfunction()

function(consume mode)
  set(build ${WORK_DIR}/consumer-${mode})
  run("${mode}: configure" ${CMAKE_COMMAND} -S ${consumer_dir} -B ${build}
      ${generator_args} -DCMAKE_BUILD_TYPE=Release -DCAIRN_CONSUME=${mode}
      -DCAIRN_SOURCE_DIR=${CAIRN_SOURCE_DIR} ${ARGN})
  run("${mode}: build" ${CMAKE_COMMAND} --build ${build})
  run("${mode}: run" ${build}/consumer)
  if(NOT last_output MATCHES "boot_count 41 after remount")
    message(FATAL_ERROR "package test: ${mode}: unexpected output:\n${last_output}")
  endif()
endfunction()

# The package manifests must agree with the project version and layout.
file(READ ${CAIRN_SOURCE_DIR}/CMakeLists.txt top)
string(REGEX MATCH "project\\(cairn VERSION ([0-9.]+)" _ "${top}")
set(version ${CMAKE_MATCH_1})
file(READ ${CAIRN_SOURCE_DIR}/library.json manifest)
string(JSON pio_version GET "${manifest}" version)
string(JSON pio_src GET "${manifest}" build srcDir)
string(JSON pio_include GET "${manifest}" build includeDir)
file(READ ${CAIRN_SOURCE_DIR}/idf_component.yml idf_manifest)
string(REGEX MATCH "version: \"([0-9.]+)\"" _ "${idf_manifest}")
set(idf_version ${CMAKE_MATCH_1})
if(NOT pio_version STREQUAL version OR NOT idf_version STREQUAL version)
  message(FATAL_ERROR "package test: versions differ: CMake ${version}, "
          "library.json ${pio_version}, idf_component.yml ${idf_version}")
endif()
if(NOT IS_DIRECTORY ${CAIRN_SOURCE_DIR}/${pio_src} OR
   NOT EXISTS ${CAIRN_SOURCE_DIR}/${pio_include}/cairn/kvs/key_value_store.h)
  message(FATAL_ERROR "package test: library.json points at missing dirs")
endif()
message(STATUS "package test: manifests (version ${version}): ok")

consume(add_subdirectory)
consume(fetchcontent)

# Install a library-only build of the tree, then consume the package.
set(install_build ${WORK_DIR}/cairn-build)
set(prefix ${WORK_DIR}/prefix)
run("install: configure" ${CMAKE_COMMAND} -S ${CAIRN_SOURCE_DIR}
    -B ${install_build} ${generator_args} -DCMAKE_BUILD_TYPE=Release
    -DCAIRN_BUILD_TESTS=OFF -DCAIRN_BUILD_TOOLS=OFF -DCAIRN_BUILD_BENCH=OFF
    -DCAIRN_INSTALL=ON)
run("install: build" ${CMAKE_COMMAND} --build ${install_build})
run("install: install" ${CMAKE_COMMAND} --install ${install_build}
    --prefix ${prefix})
foreach(file include/cairn/kvs/key_value_store.h
             include/cairn/flash/ram_flash.h)
  if(NOT EXISTS ${prefix}/${file})
    message(FATAL_ERROR "package test: ${file} was not installed")
  endif()
endforeach()
file(GLOB_RECURSE config_files ${prefix}/*/cairnConfig.cmake
     ${prefix}/*/cairnConfigVersion.cmake)
list(LENGTH config_files n)
if(NOT n EQUAL 2)
  message(FATAL_ERROR "package test: config files missing: ${config_files}")
endif()
consume(find_package -DCMAKE_PREFIX_PATH=${prefix})

# A version the package must refuse (0.x: same minor version only).
file(WRITE ${WORK_DIR}/version-check/CMakeLists.txt
     "cmake_minimum_required(VERSION 3.20)\nproject(v LANGUAGES CXX)\n"
     "find_package(cairn 9.0 CONFIG QUIET)\n"
     "if(cairn_FOUND)\n  message(FATAL_ERROR \"cairn 9.0 accepted\")\nendif()\n")
run("version: refuses 9.0" ${CMAKE_COMMAND} -S ${WORK_DIR}/version-check
    -B ${WORK_DIR}/version-check/build ${generator_args}
    -DCMAKE_PREFIX_PATH=${prefix})
message(STATUS "package test: all ways of consuming cairn work")
