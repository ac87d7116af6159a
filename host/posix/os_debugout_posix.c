/*
 * os_debugout_posix.c - plat_debug_output_set on POSIX: filters' OutputDebugStringA text
 * is libshim's, which hands it to the sink registered here (see shim/include/shim.h).
 * A file of its own because the rest of the platform layer is also built without libshim
 * (tests/os).
 */
#include "os.h"

#include <shim.h>

void plat_debug_output_set(void (*sink)(const char *text, size_t len))
{
    ShimSetDebugSink(sink);
}
