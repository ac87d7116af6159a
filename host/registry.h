/*
 * registry.h - registry values presented to filters.
 *
 * Real filters read registry values (the IIS version under
 * HKLM\SYSTEM\CurrentControlSet\Services\W3SVC\Parameters, their own settings). The
 * configuration names a REGEDIT4 .reg file; host_registry_load() makes its values visible
 * to filters: natively through the shim's registry (ShimSetRegistryFile), on Windows by
 * writing them into the real registry (under Wine: the prefix's). One implementation per
 * OS: host/posix/os_registry_posix.c, win32/os_registry_win32.c.
 */
#ifndef HOST_REGISTRY_H
#define HOST_REGISTRY_H

#include <stddef.h>

/* Returns 0, or -1 with one line (file, line, reason) in err. */
int host_registry_load(const char *path, char *err, size_t errlen);

#endif
