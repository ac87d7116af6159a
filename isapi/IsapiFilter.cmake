# isapi_add_filter(<name> SOURCES <file>... DEF <file.def> [FILES <file>...])
#
# Builds one ISAPI filter from sources written for Windows:
#   native build:  <name>.so, compiled against shim/include and linked to libshim. Only the
#                  names the .def file exports (plus DllMain, which Windows finds through the
#                  entry point rather than the export table) are visible, as in the DLL.
#   Windows build: <name>.dll with undecorated exports from the .def file (no _Name@N
#                  stdcall decoration on i686), linked statically against libgcc so it needs
#                  no DLL beyond Windows' own.
# FILES are copied beside the output (a filter's .ini, which it finds through
# GetModuleFileNameA). Use it for the samples and for your own filters: see
# docs/writing-filters.md.
function(isapi_add_filter name)
  cmake_parse_arguments(PARSE_ARGV 1 F "" "DEF" "SOURCES;FILES")
  if(NOT F_SOURCES OR NOT F_DEF)
    message(FATAL_ERROR "isapi_add_filter(${name}): SOURCES and DEF are required")
  endif()
  get_filename_component(def "${F_DEF}" ABSOLUTE)
  if(NOT EXISTS "${def}")
    message(FATAL_ERROR "isapi_add_filter(${name}): DEF file ${def} does not exist")
  endif()

  if(ISAPIHOST_WINELIB)
    # The Winelib build loads real DLLs: the mingw-w64 sub-build (win32/Winelib.cmake)
    # builds this filter with the branch below into ISAPIHOST_PE_DIR.
    add_library(${name} MODULE IMPORTED GLOBAL)
    set_target_properties(${name} PROPERTIES IMPORTED_LOCATION "${ISAPIHOST_PE_DIR}/${name}.dll")
    set_property(GLOBAL APPEND PROPERTY ISAPIHOST_PE_FILTERS ${name})
    return()
  endif()
  if(WIN32)
    add_library(${name} MODULE ${F_SOURCES} "${def}")
    set_target_properties(${name} PROPERTIES PREFIX "" SUFFIX ".dll")
    # The .def names are undecorated; let ld match them to the _Name@N stdcall symbols.
    target_link_options(${name} PRIVATE -Wl,--enable-stdcall-fixup -static-libgcc)
    if(ISAPIHOST_FILTER_OUTPUT_DIR)
      # The Winelib build's sub-build: every filter DLL in one folder.
      set_target_properties(${name} PROPERTIES
        LIBRARY_OUTPUT_DIRECTORY "${ISAPIHOST_FILTER_OUTPUT_DIR}"
        RUNTIME_OUTPUT_DIRECTORY "${ISAPIHOST_FILTER_OUTPUT_DIR}")
    endif()
  else()
    add_library(${name} MODULE ${F_SOURCES})
    set_target_properties(${name} PROPERTIES PREFIX "" SUFFIX ".so")
    target_link_libraries(${name} PRIVATE shim)
    # Turn the .def EXPORTS list into a linker version script. It is read when CMake
    # configures, so an edited .def makes the build configure again.
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${def}")
    file(STRINGS "${def}" def_lines)
    set(in_exports OFF)
    set(globals "DllMain;")
    foreach(line IN LISTS def_lines)
      string(REGEX REPLACE ";.*$" "" line "${line}")
      string(STRIP "${line}" line)
      if(line MATCHES "^EXPORTS")
        set(in_exports ON)
      elseif(line MATCHES "^(LIBRARY|DESCRIPTION|SECTIONS|HEAPSIZE|STACKSIZE|VERSION)")
        set(in_exports OFF)
      elseif(in_exports AND line MATCHES "^([A-Za-z_][A-Za-z0-9_]*)")
        string(APPEND globals "${CMAKE_MATCH_1};")
      endif()
    endforeach()
    set(script "${CMAKE_CURRENT_BINARY_DIR}/${name}.exports.map")
    file(WRITE "${script}" "{\n  global: ${globals}\n  local: *;\n};\n")
    target_link_options(${name} PRIVATE "-Wl,--version-script=${script}")
    set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS "${script}")
  endif()

  foreach(f IN LISTS F_FILES)
    get_filename_component(abs "${f}" ABSOLUTE)
    get_filename_component(base "${f}" NAME)
    add_custom_command(TARGET ${name} POST_BUILD
      COMMAND ${CMAKE_COMMAND} -E copy_if_different "${abs}" "$<TARGET_FILE_DIR:${name}>/${base}")
  endforeach()
endfunction()
