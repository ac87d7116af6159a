# The CTest fixture "wineserver" of the Windows builds: one persistent wineserver for the
# build tree's Wine prefix during the whole ctest run (win32/wine-run.sh --server-start),
# ended after the last test that needs it (--server-stop). Every test that runs a program
# under Wine lists it in FIXTURES_REQUIRED; ctest then adds the two tests by itself, also
# for `ctest -R <one test>` and `ctest -L <label>`, and runs them first and last with -j.
# Why: see the note at the top of win32/wine-run.sh.
set(ISAPIHOST_WINE_FIXTURE wineserver)
add_test(NAME wineserver_start
         COMMAND "${CMAKE_SOURCE_DIR}/win32/wine-run.sh" --prefix "${CMAKE_BINARY_DIR}/wineprefix"
                 --server-start)
add_test(NAME wineserver_stop
         COMMAND "${CMAKE_SOURCE_DIR}/win32/wine-run.sh" --prefix "${CMAKE_BINARY_DIR}/wineprefix"
                 --server-stop)
# Creating a new prefix takes about 20 s, more on a busy machine.
set_tests_properties(wineserver_start PROPERTIES FIXTURES_SETUP wineserver LABELS wine TIMEOUT 300)
set_tests_properties(wineserver_stop PROPERTIES FIXTURES_CLEANUP wineserver LABELS wine TIMEOUT 120)

# Guards the rule above: fails naming any wine-labelled test that does not list the fixture.
add_test(NAME wineserver_fixture_listed
         COMMAND ${CMAKE_COMMAND} -DCTEST=${CMAKE_CTEST_COMMAND} -P
                 "${CMAKE_SOURCE_DIR}/win32/CheckWineFixture.cmake")
set_tests_properties(wineserver_fixture_listed PROPERTIES LABELS wine FIXTURES_REQUIRED wineserver
                     TIMEOUT 60)
