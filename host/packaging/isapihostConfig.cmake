# isapihostConfig.cmake - find_package(isapihost) for filters built against an installed
# isapihost: the shim's headers and library as the target `shim`, and isapi_add_filter()
# (IsapiFilter.cmake, the same function the project builds its samples with).
#   find_package(isapihost REQUIRED)
#   isapi_add_filter(myfilter SOURCES myfilter.c DEF myfilter.def FILES myfilter.ini)
get_filename_component(_isapihost_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET shim)
  add_library(shim SHARED IMPORTED)
  set_target_properties(shim PROPERTIES
    IMPORTED_LOCATION "${_isapihost_prefix}/lib/isapihost/libshim.so"
    IMPORTED_SONAME "libshim.so"
    INTERFACE_INCLUDE_DIRECTORIES "${_isapihost_prefix}/include/isapihost")
endif()
include("${CMAKE_CURRENT_LIST_DIR}/IsapiFilter.cmake")
unset(_isapihost_prefix)
