/*
 * os_identity_win32.c - the identity part of the platform layer on Windows (see os.h).
 *
 * A Windows server runs as the account its service is configured with (the service
 * manager, or IIS's application pool identity), chosen before the process starts; there
 * is no root to give up. `user` and `group` are refused with that reason.
 */
#include "os.h"

#include <stdio.h>
#include <windows.h>

int plat_identity_is_root(void)
{
    return 0;
}

void plat_identity_name(char *out, size_t cap)
{
    DWORD n = (DWORD)cap;
    if (cap == 0 || !GetUserNameA(out, &n))
        snprintf(out, cap, "%s", "?");
}

int plat_identity_drop(const char *user, const char *group, char *err, size_t errlen)
{
    (void)group;
    snprintf(err, errlen, "switching to '%s' is not supported on Windows: run the service "
             "as that account", user);
    return -1;
}
