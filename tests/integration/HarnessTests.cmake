# harness_tests(PREFIX <name> LABEL <label> TIMEOUT <s> FILTERS <target>...)
#
# Registers every test_*.py of the calling folder as one CTest test, <name>_<stem>, run by
# the integration harness (tests/integration/harness.py) with the flavour of the build
# tree: native, or wine32/wine64 on the Windows builds, where the tests also get the labels
# wine and wine32/wine64, the Wine runner with the tree's prefix and the CTest fixture
# "wineserver" (win32/WineServer.cmake), or winelib32/winelib64 on the Winelib builds
# (labels winelib and winelib32/winelib64, run by the launcher). The test filters named
# are built here when tests/unit (native only) did not already add them, and each is
# passed with --test-filter.
find_package(Python3 COMPONENTS Interpreter REQUIRED)

function(harness_tests)
  cmake_parse_arguments(PARSE_ARGV 0 H "" "PREFIX;LABEL;TIMEOUT" "FILTERS")
  set(filter_args "")
  foreach(f IN LISTS H_FILTERS)
    if(NOT TARGET ${f})
      add_subdirectory(${PROJECT_SOURCE_DIR}/tests/filters/${f}
                       ${CMAKE_CURRENT_BINARY_DIR}/filters/${f})
    endif()
    list(APPEND filter_args --test-filter $<TARGET_FILE:${f}>)
  endforeach()

  set(labels ${H_LABEL})
  if(ISAPIHOST_WINELIB)
    # The Winelib server, run by its launcher with the tree's prefix (win32/Winelib.cmake).
    set(flavour winelib${ISAPIHOST_WINELIB})
    list(APPEND labels winelib ${flavour})
    set(wine --wine-run ${ISAPIHOST_WINE_LAUNCHER} --prefix ${ISAPIHOST_WINEPREFIX})
  elseif(WIN32)
    if(CMAKE_SIZEOF_VOID_P EQUAL 8)
      set(flavour wine64)
    else()
      set(flavour wine32)
    endif()
    list(APPEND labels wine ${flavour})
    set(wine --wine-run ${PROJECT_SOURCE_DIR}/win32/wine-run.sh
             --prefix ${CMAKE_BINARY_DIR}/wineprefix)
  else()
    set(flavour native)
    set(wine "")
  endif()

  file(GLOB scripts CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/test_*.py)
  foreach(script IN LISTS scripts)
    get_filename_component(stem "${script}" NAME_WE)
    string(REGEX REPLACE "^test_" "" stem "${stem}")
    add_test(NAME ${H_PREFIX}_${stem}
             COMMAND ${Python3_EXECUTABLE} ${script} --flavour ${flavour}
                     --server $<TARGET_FILE:isapihost>
                     --samples $<TARGET_FILE_DIR:trace>
                     ${filter_args}
                     --source ${PROJECT_SOURCE_DIR}
                     ${wine})
    set_tests_properties(${H_PREFIX}_${stem} PROPERTIES LABELS "${labels}"
      TIMEOUT ${H_TIMEOUT} SKIP_RETURN_CODE 77
      ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1;ISAPIHOST_SANITIZE=${ISAPIHOST_SANITIZE}")
    if(WIN32)
      set_tests_properties(${H_PREFIX}_${stem} PROPERTIES FIXTURES_REQUIRED wineserver)
    endif()
  endforeach()
endfunction()
