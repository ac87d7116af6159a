/*
 * os_supervise_win32.c - no supervisor process on Windows: the engine catches a fault
 * inside a filter call with structured exception handling and fails that request only
 * (isapi/guard_win32.c), so the server runs in-process, as IIS's worker process does.
 */
#include "supervise.h"

int host_supervise(int (*serve)(void *arg), void *arg, const host_supervise_opts_t *opts)
{
    (void)opts;
    return serve(arg);
}

/* No process replaces another: the process opens its own listeners. */
int host_supervise_inherited_listeners(plat_socket_t *socks, size_t max, char *err,
                                       size_t errlen)
{
    (void)socks;
    (void)max;
    (void)err;
    (void)errlen;
    return 0;
}

/* No supervisor to wait for this process or to ask it to retire. */
void host_supervise_ready(void)
{
}

int host_supervise_on_retire(void (*fn)(void *arg), void *arg)
{
    (void)fn;
    (void)arg;
    return -1;
}
