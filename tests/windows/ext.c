/*
 * ext.c - a filter built the way a filter author builds one, outside the project's build
 * (tests/windows/CMakeLists.txt runs the mingw-w64 command line from docs/windows.md).
 *
 * It adds two response headers:
 *   X-Ext-Filter: <32|64>-bit               the bitness it was compiled for
 *   X-W3SVC-Version: <major>.<minor>        MajorVersion / MinorVersion read with
 *                                           RegOpenKeyExA/RegQueryValueExA from
 *                                           HKLM\SYSTEM\CurrentControlSet\Services\W3SVC\Parameters
 *                                           ("absent" when the key or a value is missing)
 * The registry is read in GetFilterVersion, as real filters read their settings.
 */
#include <windows.h>
#include <httpfilt.h>
#include <stdio.h>

static char version[32] = "absent";

static BOOL read_dword(HKEY key, const char *name, DWORD *out)
{
    DWORD type = 0, size = sizeof *out;
    return RegQueryValueExA(key, name, NULL, &type, (BYTE *)out, &size) == ERROR_SUCCESS
           && type == REG_DWORD && size == sizeof *out;
}

BOOL WINAPI GetFilterVersion(HTTP_FILTER_VERSION *pVer)
{
    HKEY key;
    if (RegOpenKeyExA(HKEY_LOCAL_MACHINE, "SYSTEM\\CurrentControlSet\\Services\\W3SVC\\Parameters",
                      0, KEY_READ, &key) == ERROR_SUCCESS) {
        DWORD major, minor;
        if (read_dword(key, "MajorVersion", &major) && read_dword(key, "MinorVersion", &minor))
            snprintf(version, sizeof version, "%lu.%lu", (unsigned long)major,
                     (unsigned long)minor);
        RegCloseKey(key);
    }
    pVer->dwFilterVersion = HTTP_FILTER_REVISION;
    lstrcpynA(pVer->lpszFilterDesc, "ext: a filter built outside the project",
              SF_MAX_FILTER_DESC_LEN);
    pVer->dwFlags = SF_NOTIFY_ORDER_DEFAULT | SF_NOTIFY_SEND_RESPONSE;
    return TRUE;
}

DWORD WINAPI HttpFilterProc(HTTP_FILTER_CONTEXT *pfc, DWORD notificationType,
                            LPVOID pvNotification)
{
    if (notificationType == SF_NOTIFY_SEND_RESPONSE) {
        HTTP_FILTER_SEND_RESPONSE *sr = pvNotification;
        sr->AddHeader(pfc, "X-Ext-Filter:", sizeof(void *) == 8 ? "64-bit" : "32-bit");
        sr->AddHeader(pfc, "X-W3SVC-Version:", version);
    }
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}
