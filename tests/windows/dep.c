/* dep.c - the DLL needsdep.c imports from; the tests deliberately do not install it. */
#include <windows.h>
#include <httpfilt.h>

DWORD WINAPI DepFlags(void);

DWORD WINAPI DepFlags(void)
{
    return SF_NOTIFY_PREPROC_HEADERS;
}
