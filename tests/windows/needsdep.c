/*
 * needsdep.c - a filter that imports DepFlags from dep (a second DLL). The tests install
 * it without dep, so loading it fails with "a DLL it depends on could not be found".
 */
#include <windows.h>
#include <httpfilt.h>

DWORD WINAPI DepFlags(void);

BOOL WINAPI GetFilterVersion(HTTP_FILTER_VERSION *pVer)
{
    pVer->dwFilterVersion = HTTP_FILTER_REVISION;
    pVer->dwFlags = DepFlags();
    return TRUE;
}

DWORD WINAPI HttpFilterProc(HTTP_FILTER_CONTEXT *pfc, DWORD notificationType,
                            LPVOID pvNotification)
{
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}
