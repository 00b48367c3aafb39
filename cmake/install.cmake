# Install rules and the CMake package (find_package(cairn)), included at the
# end of the top-level CMakeLists.txt. Only a top-level build installs
# anything (CAIRN_INSTALL defaults to PROJECT_IS_TOP_LEVEL): a firmware
# project that pulls cairn in with add_subdirectory or FetchContent gets the
# cairn::cairn target and no install rules of ours.
#
#   cmake -S . -B build/rel -DCMAKE_BUILD_TYPE=Release -DCAIRN_BUILD_TESTS=OFF
#   cmake --build build/rel && cmake --install build/rel --prefix /opt/cairn
#   # consumer: find_package(cairn 0.1 REQUIRED) ... cairn::cairn, cairn::host
if(NOT CAIRN_INSTALL)
  return()
endif()

include(CMakePackageConfigHelpers)

set(CAIRN_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/cairn"
    CACHE STRING "Where the cairn CMake package files are installed")

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/cairn
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT cairn_development
        FILES_MATCHING PATTERN "*.h")

# The freestanding library always; the host helpers (FileFlash, MutexLock)
# when this is a host build.
set(_cairn_export_targets cairn)
if(TARGET cairn_host)
  set_target_properties(cairn_host PROPERTIES EXPORT_NAME host)
  list(APPEND _cairn_export_targets cairn_host)
endif()
install(TARGETS ${_cairn_export_targets}
        EXPORT cairnTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT cairn_development
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT cairn_runtime)
install(EXPORT cairnTargets
        NAMESPACE cairn::
        DESTINATION ${CAIRN_INSTALL_CMAKEDIR}
        COMPONENT cairn_development)

# The command-line tool, when it was built (ESP-IDF's
# cairn_create_partition_image() and factory scripts look for it on PATH).
if(TARGET cairn_tool)
  install(TARGETS cairn_tool RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
          COMPONENT cairn_tool)
endif()

configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/cairnConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cairnConfig.cmake
  INSTALL_DESTINATION ${CAIRN_INSTALL_CMAKEDIR})
# 0.x releases are only compatible within the same minor version.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/cairnConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cairnConfig.cmake
              ${PROJECT_BINARY_DIR}/cairnConfigVersion.cmake
        DESTINATION ${CAIRN_INSTALL_CMAKEDIR}
        COMPONENT cairn_development)

# The package test: a tiny consumer project built against this source tree
# three ways (add_subdirectory, FetchContent, find_package after install).
if(CAIRN_BUILD_TESTS AND NOT CMAKE_CROSSCOMPILING)
  add_test(NAME cairn_package
           COMMAND ${CMAKE_COMMAND}
                   -DCAIRN_SOURCE_DIR=${PROJECT_SOURCE_DIR}
                   -DWORK_DIR=${PROJECT_BINARY_DIR}/package-test
                   -DGENERATOR=${CMAKE_GENERATOR}
                   -DCXX_COMPILER=${CMAKE_CXX_COMPILER}
                   -P ${PROJECT_SOURCE_DIR}/tests/package/run.cmake)
  set_tests_properties(cairn_package PROPERTIES TIMEOUT 900 LABELS package)
  # ESP-IDF's cairn_create_partition_image() with stand-ins for the IDF
  # functions it calls, driving the cairn tool built here.
  if(TARGET cairn_tool)
    add_test(NAME cairn_esp_idf_image
             COMMAND ${CMAKE_COMMAND}
                     -DCAIRN_SOURCE_DIR=${PROJECT_SOURCE_DIR}
                     -DCAIRN_TOOL=$<TARGET_FILE:cairn_tool>
                     -DWORK_DIR=${PROJECT_BINARY_DIR}/esp-idf-image-test
                     -DGENERATOR=${CMAKE_GENERATOR}
                     -P ${PROJECT_SOURCE_DIR}/tests/package/esp_idf/run.cmake)
    set_tests_properties(cairn_esp_idf_image PROPERTIES TIMEOUT 300
                         LABELS package)
  endif()
endif()
