# The Winelib build (presets winelib64, winelib32; toolchain win32/toolchain-winelib*.cmake).
#
# The project's compiler is winegcc, which builds Linux programs. The filter DLLs the
# samples and tests load must be real PE DLLs, built by mingw-w64: a sub-build configures
# this same source tree with the mingw-w64 toolchain of the same bitness and builds only
# the filter targets, all into ISAPIHOST_PE_DIR. Here isapi_add_filter() declares each of
# them as an imported module at that place (isapi/IsapiFilter.cmake), so the tests name
# them with $<TARGET_FILE:...> as in the other builds.
#
# Programs built here run through the launcher: win32/isapihost-wine --exec, which picks
# Wine's loader of the right bitness and the tree's prefix.
include(ExternalProject)

if(NOT ISAPIHOST_WINELIB MATCHES "^(32|64)$")
  message(FATAL_ERROR "win32/Winelib.cmake: ISAPIHOST_WINELIB must be 32 or 64")
endif()
set(ISAPIHOST_PE_DIR "${CMAKE_BINARY_DIR}/pe-filters")
set(ISAPIHOST_WINEPREFIX "${CMAKE_BINARY_DIR}/wineprefix")
set(ISAPIHOST_WINE_LAUNCHER "${CMAKE_SOURCE_DIR}/win32/isapihost-wine")
set(CMAKE_CROSSCOMPILING_EMULATOR
    "env;WINEPREFIX=${ISAPIHOST_WINEPREFIX};${ISAPIHOST_WINE_LAUNCHER};--exec")

# The PE filter sub-build; called at the end of the top-level CMakeLists.txt, once every
# isapi_add_filter() has run.
function(winelib_pe_subbuild)
  get_property(filters GLOBAL PROPERTY ISAPIHOST_PE_FILTERS)
  ExternalProject_Add(pe_filters
    SOURCE_DIR "${CMAKE_SOURCE_DIR}"
    BINARY_DIR "${CMAKE_BINARY_DIR}/pe-build"
    CMAKE_ARGS -DCMAKE_TOOLCHAIN_FILE=${ISAPIHOST_PE_TOOLCHAIN}
               -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE}
               -DISAPIHOST_WERROR=${ISAPIHOST_WERROR}
               -DISAPIHOST_FILTER_OUTPUT_DIR=${ISAPIHOST_PE_DIR}
    # Configure again first (quick when nothing changed): a filter added to the tree since
    # the sub-build was configured is then a target it knows.
    BUILD_COMMAND ${CMAKE_COMMAND} -S <SOURCE_DIR> -B <BINARY_DIR>
          COMMAND ${CMAKE_COMMAND} --build <BINARY_DIR> --target ${filters}
    INSTALL_COMMAND ""
    BUILD_ALWAYS ON
    USES_TERMINAL_BUILD ON)
endfunction()

# Wine's full windows.h pulls in winsock.h, which needs the BSD types (u_short) that
# glibc hides in strict C11 and clashes with <netinet/in.h>; nothing here uses Winsock.
add_compile_definitions(WIN32_LEAN_AND_MEAN)

# winegcc -o name.exe writes name.exe.so (the program) and name.exe (a start script).
set(CMAKE_EXECUTABLE_SUFFIX ".exe")
# CMake's -fPIE for executables would override the toolchain's -fPIC, and PIE code cannot
# go into the shared object winegcc links.
set(CMAKE_POSITION_INDEPENDENT_CODE OFF)
