/*
 * shim_testfilter.c - an ISAPI filter written for Windows, used by shim_modules.c to test
 * module loading. It builds unmodified as shim_testfilter.so (native, against libshim) and
 * as shim_testfilter.dll (mingw i686 and x86_64).
 *
 * DllMain counts PROCESS_ATTACH and, on attach, finds its own .ini beside the module
 * (GetModuleFileNameA on its HINSTANCE, extension replaced by ".ini") and reads
 * [Filter] Greeting with GetPrivateProfileStringA. GetFilterVersion puts the greeting in
 * the description; HttpFilterProc adds an "X-Shim-Greeting" response header on
 * SF_NOTIFY_PREPROC_HEADERS. The last error DllMain's own calls left is kept, so the test
 * can tell it from anything LoadLibraryA adds. The ShimTest* exports let the test observe all of it; the
 * detach counter is a caller-owned LONG, since the module's own data is gone once unloaded.
 * Built with SHIMTEST_FAIL_ATTACH defined (shim_testfilter_fail), DllMain refuses to load.
 */
#include <windows.h>
#include <httpfilt.h>
#include <string.h>

static LONG attach_count;
static LONG volatile *detach_counter;
static HINSTANCE self;
static char greeting[64] = "none";
static char ini_path[MAX_PATH];
static DWORD attach_last_error;

BOOL WINAPI DllMain(HINSTANCE hinstDLL, DWORD fdwReason, LPVOID lpvReserved);
LONG WINAPI ShimTestAttachCount(void);
HINSTANCE WINAPI ShimTestModule(void);
LPCSTR WINAPI ShimTestGreeting(void);
LPCSTR WINAPI ShimTestIniPath(void);
void WINAPI ShimTestSetDetachCounter(LONG volatile *counter);
DWORD WINAPI ShimTestAttachLastError(void);

BOOL WINAPI DllMain(HINSTANCE hinstDLL, DWORD fdwReason, LPVOID lpvReserved)
{
    DWORD n;
    char *dot;

    switch (fdwReason) {
    case DLL_PROCESS_ATTACH:
        InterlockedIncrement(&attach_count);
        self = hinstDLL;
        DisableThreadLibraryCalls(hinstDLL);
        n = GetModuleFileNameA(hinstDLL, ini_path, sizeof ini_path - 4);
        if (n == 0 || n >= sizeof ini_path - 4)
            return FALSE;
        dot = strrchr(ini_path, '.');
        if (dot)
            lstrcpyA(dot, ".ini");
        GetPrivateProfileStringA("Filter", "Greeting", "none", greeting, sizeof greeting, ini_path);
        attach_last_error = GetLastError();
#ifdef SHIMTEST_FAIL_ATTACH
        return FALSE;
#else
        return TRUE;
#endif
    case DLL_PROCESS_DETACH:
        if (detach_counter)
            InterlockedIncrement(detach_counter);
        return TRUE;
    }
    return TRUE;
}

BOOL WINAPI GetFilterVersion(PHTTP_FILTER_VERSION pVer)
{
    pVer->dwFilterVersion = HTTP_FILTER_REVISION;
    lstrcpynA(pVer->lpszFilterDesc, greeting, SF_MAX_FILTER_DESC_LEN);
    pVer->dwFlags = SF_NOTIFY_ORDER_DEFAULT | SF_NOTIFY_PREPROC_HEADERS;
    return TRUE;
}

DWORD WINAPI HttpFilterProc(PHTTP_FILTER_CONTEXT pfc, DWORD NotificationType, LPVOID pvNotification)
{
    char header[128];

    if (NotificationType == SF_NOTIFY_PREPROC_HEADERS) {
        wsprintfA(header, "X-Shim-Greeting: %s\r\n", greeting);
        if (!pfc->AddResponseHeaders(pfc, header, 0))
            return SF_STATUS_REQ_ERROR;
    }
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

BOOL WINAPI TerminateFilter(DWORD dwFlags)
{
    return TRUE;
}

LONG WINAPI ShimTestAttachCount(void)
{
    return attach_count;
}

HINSTANCE WINAPI ShimTestModule(void)
{
    return self;
}

LPCSTR WINAPI ShimTestGreeting(void)
{
    return greeting;
}

LPCSTR WINAPI ShimTestIniPath(void)
{
    return ini_path;
}

void WINAPI ShimTestSetDetachCounter(LONG volatile *counter)
{
    detach_counter = counter;
}

DWORD WINAPI ShimTestAttachLastError(void)
{
    return attach_last_error;
}
