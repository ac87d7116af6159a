/*
 * os_registry_posix.c - registry values for filters on POSIX: the shim serves
 * RegOpenKeyExA/RegQueryValueExA from the .reg file (see shim/README.md).
 */
#include "registry.h"

#include <shim.h>
#include <stdio.h>

int host_registry_load(const char *path, char *err, size_t errlen)
{
    if (ShimSetRegistryFile(path))
        return 0;
    snprintf(err, errlen, "%s: registry: %s", path, ShimRegistryError());
    return -1;
}
