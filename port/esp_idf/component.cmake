# ESP-IDF component build of cairn. The repository root is the component
# directory; its top-level CMakeLists.txt includes this file when
# ESP_PLATFORM is set and returns right after. Needs ESP-IDF 5.0 or later
# (GCC 11+, C++20, the esp_partition component).
set(cairn_root ${CMAKE_CURRENT_LIST_DIR}/../..)
file(GLOB cairn_sources
     ${cairn_root}/src/*.cc
     ${cairn_root}/src/kvs/*.cc
     ${cairn_root}/src/blob/*.cc
     ${cairn_root}/src/fs/*.cc)

idf_component_register(
  SRCS ${cairn_sources} ${CMAKE_CURRENT_LIST_DIR}/esp_partition_flash.cc
  INCLUDE_DIRS include port/esp_idf/include
  REQUIRES esp_partition)

if(NOT CMAKE_BUILD_EARLY_EXPANSION)
  target_compile_features(${COMPONENT_LIB} PUBLIC cxx_std_20)
  # The library never throws and never asks for RTTI, whatever the
  # application enables.
  target_compile_options(${COMPONENT_LIB} PRIVATE -fno-exceptions -fno-rtti)
  if(CONFIG_CAIRN_CRC_SMALL)
    target_compile_definitions(${COMPONENT_LIB} PRIVATE CAIRN_CRC_SMALL=1)
  endif()
endif()
