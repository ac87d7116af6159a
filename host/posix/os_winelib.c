/*
 * os_winelib.c - what the Winelib build adds to the POSIX platform layer (host/posix/os_posix.c):
 * threads that are Wine threads.
 *
 * Filter DLLs are PE code running inside this Linux process. PE code finds its thread
 * block (TEB) through a segment register that Wine sets up only for threads it created: a
 * pthread that calls into a filter crashes the whole process at the first TLS access,
 * SetLastError or exception. So plat_thread_create (PLAT_WIN32_THREADS) starts every
 * thread here, with CreateThread. Everything else (sockets, epoll, sendfile, files) stays
 * on the POSIX layer: Wine adds no cost to it.
 *
 * And paths in Windows form for the filters (plat_path_to_filter): a DLL written for IIS
 * expects "C:\..."-style paths in URL_MAP and the server variables, splits them at '\\',
 * and opens them with CreateFileA. Wine's default Z: drive maps the Linux root, so the
 * Windows name of /srv/site/a.htm is Z:\srv\site\a.htm, as under isapihost.exe.
 */
#define _POSIX_C_SOURCE 200809L
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "os.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The declarations os_posix.c uses (it includes no Windows header). */
int plat__win32_thread_start(void **handle, void (*fn)(void *arg), void *arg);
int plat__win32_thread_join(void *handle);

typedef struct start_block {
    void (*fn)(void *arg);
    void *arg;
} start_block;

static DWORD WINAPI thread_entry(void *p)
{
    start_block b = *(start_block *)p;
    free(p);
    b.fn(b.arg);
    return 0;
}

/* Returns 0 or an errno value (os_posix.c maps it). */
int plat__win32_thread_start(void **handle, void (*fn)(void *arg), void *arg)
{
    start_block *b = malloc(sizeof *b);
    if (!b)
        return ENOMEM;
    b->fn = fn;
    b->arg = arg;
    HANDLE h = CreateThread(NULL, 0, thread_entry, b, 0, NULL);
    if (!h) {
        free(b);
        return GetLastError() == ERROR_NOT_ENOUGH_MEMORY ? ENOMEM : EAGAIN;
    }
    *handle = h;
    return 0;
}

int plat__win32_thread_join(void *handle)
{
    DWORD r = WaitForSingleObject(handle, INFINITE);
    CloseHandle(handle);
    return r == WAIT_OBJECT_0 ? 0 : EINVAL;
}

int plat_path_to_filter(const char *host_path, char *out, size_t outlen)
{
    char cwd[4096] = "";
    size_t n = 0;
    if (host_path[0] != '/') {
        if (!getcwd(cwd, sizeof cwd))
            return PLAT_ENAMETOOLONG;
        if (strcmp(cwd, "/") != 0)
            n = strlen(cwd);
    }
    size_t need = 2 + n + 1 + strlen(host_path) + 1;
    if (need > outlen)
        return PLAT_ENAMETOOLONG;
    char *o = out;
    *o++ = 'Z';
    *o++ = ':';
    for (size_t i = 0; i < n; i++)
        *o++ = cwd[i] == '/' ? '\\' : cwd[i];
    if (host_path[0] != '/')
        *o++ = '\\';
    for (const char *p = host_path; *p; p++)
        *o++ = *p == '/' ? '\\' : *p;
    *o = '\0';
    return (int)(o - out);
}

int plat_path_from_filter(const char *filter_path, char *out, size_t outlen)
{
    const char *p = filter_path;
    int drive = (p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z');
    if (!(drive && p[1] == ':')) {
        size_t len = strlen(p);
        if (len >= outlen)
            return PLAT_ENAMETOOLONG;
        memcpy(out, p, len + 1);
        return (int)len;
    }
    if ((p[0] == 'Z' || p[0] == 'z') && (p[2] == '\\' || p[2] == '/')) {
        size_t len = strlen(p + 2);
        if (len >= outlen)
            return PLAT_ENAMETOOLONG;
        for (size_t i = 0; i <= len; i++)
            out[i] = p[2 + i] == '\\' ? '/' : p[2 + i];
        return (int)len;
    }
    /* Another drive (C: is the prefix's drive_c): Wine knows where it lives. */
    WCHAR wide[MAX_PATH];
    if (!MultiByteToWideChar(CP_ACP, 0, p, -1, wide, MAX_PATH))
        return PLAT_ENAMETOOLONG;
    char *unix_name = wine_get_unix_file_name(wide);
    if (!unix_name)
        return PLAT_EINVAL;
    size_t len = strlen(unix_name);
    int rc = (int)len;
    if (len >= outlen)
        rc = PLAT_ENAMETOOLONG;
    else
        memcpy(out, unix_name, len + 1);
    HeapFree(GetProcessHeap(), 0, unix_name);
    return rc;
}

/* A filter's OutputDebugStringA is Wine's here: it goes to Wine's debug channel (visible
 * with WINEDEBUG=+debugstr), as on Windows it goes to an attached debugger. */
void plat_debug_output_set(void (*sink)(const char *text, size_t len))
{
    (void)sink;
}
