/*
 * notfilter.c - an ISAPI extension, not a filter: it exports GetExtensionVersion and
 * HttpExtensionProc only, so loading it as a filter must fail with one clear line.
 */
#include <windows.h>
#include <httpext.h>

BOOL WINAPI GetExtensionVersion(HSE_VERSION_INFO *pVer)
{
    pVer->dwExtensionVersion = HSE_VERSION;
    return TRUE;
}

DWORD WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *pECB)
{
    return HSE_STATUS_SUCCESS;
}
