/*
 * os_ticks_posix.c - plat_ticks() for POSIX (host/os.h): the tick counter that times filter
 * calls for the metrics' histogram.
 *
 * Why not CLOCK_MONOTONIC alone: the histogram reads a clock twice per filter call, and a
 * clock_gettime through the vDSO costs 20 ns on hardware but 50 to 200 ns in a virtual
 * machine (the vDSO converts the TSC with the kernel's scale and checks a sequence count,
 * and the hypervisor's clock page adds more), which made the reads most of the metrics'
 * cost for a request as cheap as a small static file. Reading the TSC directly costs one
 * instruction.
 *
 * The TSC is used only where it is a clock: on x86, with the processor's flags saying it
 * runs at a constant rate (constant_tsc) and through sleep states (nonstop_tsc), and, where
 * /sys says which clocksource the kernel chose, the kernel's clocksource the TSC too: a
 * kernel that found the TSCs of its processors out of step switches away from it, and then
 * so does this file. Its rate is measured once against CLOCK_MONOTONIC over 20 ms, each end
 * bracketed by two clock_gettime calls close together (a preempted bracket is retried), so
 * the rate is right to about 1e-5. Anywhere else the ticks are CLOCK_MONOTONIC's
 * nanoseconds. The TSCs of two processors may differ by a few ticks; the caller of
 * plat_ticks() treats a negative difference as 0.
 *
 * The Winelib build uses this file too (its host stays on the POSIX layer).
 */
#define _POSIX_C_SOURCE 200809L

#include "os.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define PLAT_TICKS_HAVE_TSC 1
#else
#define PLAT_TICKS_HAVE_TSC 0
#endif

#define TICKS_MEASURE_NS 20000000u       /* the span the TSC's rate is measured over */
#define TICKS_BRACKET_MAX_NS 20000u      /* two clock reads further apart: preempted */
#define TICKS_BRACKET_TRIES 20

static int use_tsc;
static const char *ticks_source = "clock_gettime";

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#if PLAT_TICKS_HAVE_TSC

/* 1 when `word` is one of the space-separated words of `list`. */
static int has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = strstr(list, word); p; p = strstr(p + 1, word))
        if ((p == list || p[-1] == ' ' || p[-1] == '\t')
            && (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
            return 1;
    return 0;
}

static int tsc_invariant(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return 0;
    char *line = NULL;
    size_t cap = 0;
    int invariant = 0;
    while (getline(&line, &cap, f) > 0) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        invariant = has_word(line, "constant_tsc") && has_word(line, "nonstop_tsc");
        break;   /* the first processor's line; the kernel gives every processor the same */
    }
    free(line);
    fclose(f);
    if (!invariant)
        return 0;
    f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
    if (!f)
        return 1;
    char source[64] = "";
    if (!fgets(source, sizeof source, f))
        source[0] = '\0';
    fclose(f);
    source[strcspn(source, "\n")] = '\0';
    return source[0] == '\0' || strcmp(source, "tsc") == 0;
}

/* One TSC read with the monotonic time it was taken at; 0 when the two clock reads around
 * it were too far apart (the thread was preempted). */
static int tsc_bracket(uint64_t *tsc, uint64_t *ns)
{
    for (int i = 0; i < TICKS_BRACKET_TRIES; i++) {
        uint64_t before = mono_ns();
        uint64_t t = __rdtsc();
        uint64_t after = mono_ns();
        if (after - before <= TICKS_BRACKET_MAX_NS) {
            *tsc = t;
            *ns = before + (after - before) / 2;
            return 1;
        }
    }
    return 0;
}

/* The TSC's ticks per second, or 0 when it could not be measured. */
static uint64_t tsc_rate(void)
{
    uint64_t t0, n0, t1, n1;
    if (!tsc_bracket(&t0, &n0))
        return 0;
    struct timespec pause = { 0, (long)TICKS_MEASURE_NS };
    while (nanosleep(&pause, &pause) != 0 && errno == EINTR)
        ;
    if (!tsc_bracket(&t1, &n1) || n1 <= n0 || t1 <= t0)
        return 0;
    uint64_t rate = (uint64_t)((double)(t1 - t0) * 1e9 / (double)(n1 - n0) + 0.5);
    /* Anything outside 100 MHz..100 GHz is a measurement gone wrong. */
    return rate >= 100000000u && rate <= 100000000000u ? rate : 0;
}

#endif

uint64_t plat_ticks_calibrate(void)
{
#if PLAT_TICKS_HAVE_TSC
    static uint64_t rate;
    if (!rate && tsc_invariant())
        rate = tsc_rate();
    if (rate) {
        use_tsc = 1;
        ticks_source = "tsc";
        return rate;
    }
#endif
    return 1000000000u;
}

uint64_t plat_ticks(void)
{
#if PLAT_TICKS_HAVE_TSC
    if (use_tsc)
        return __rdtsc();
#endif
    return mono_ns();
}

const char *plat_ticks_source(void)
{
    return ticks_source;
}
