/*
 * noproc.c - a broken filter: it exports GetFilterVersion but no HttpFilterProc, so the
 * engine must refuse it with a message naming the file and the missing entry point.
 */
#include <windows.h>
#include <httpfilt.h>

BOOL WINAPI GetFilterVersion(HTTP_FILTER_VERSION *pVer)
{
    pVer->dwFilterVersion = HTTP_FILTER_REVISION;
    pVer->dwFlags = SF_NOTIFY_PREPROC_HEADERS;
    return TRUE;
}
