/*
 * shim_selftest.c - checks the harness of the conformance tests (shimtest.h) itself: a run
 * in which no check ran fails, broken() accepts an answer only on real Windows and
 * wine_variance() only under Wine. The expected platform comes from the command line
 * ("native" or "wine", written by tests/shim/CMakeLists.txt).
 */
#include "shimtest.h"

int main(int argc, char **argv)
{
    const char *expect = argc > 1 ? argv[1] : "";
    int empty;

    /* Nothing checked yet: shimtest_done must report failure. */
    empty = shimtest_done("shim_selftest (before any check)");
    ok(empty != 0, "shimtest_done with no check ran returned %d\n", empty);

    if (strcmp(expect, "wine") == 0) {
        ok(shimtest_on_wine(), "running under Wine, but wine_get_version was not found\n");
        ok(!shimtest_on_windows(), "Wine taken for Windows\n");
        ok(!broken(1), "broken() accepted an answer under Wine\n");
        ok(wine_variance(1), "wine_variance() refused an answer under Wine\n");
    } else if (strcmp(expect, "native") == 0) {
        ok(!shimtest_on_wine() && !shimtest_on_windows(), "libshim taken for Wine or Windows\n");
        ok(!broken(1), "broken() accepted an answer from libshim\n");
        ok(!wine_variance(1), "wine_variance() accepted an answer from libshim\n");
    } else {
        ok(0, "usage: shim_selftest native|wine (got \"%s\")\n", expect);
    }
    ok(!broken(0) && !wine_variance(0), "a false condition was accepted\n");
    return shimtest_done("shim_selftest");
}
