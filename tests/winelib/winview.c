/*
 * winview.c - a test filter that reports what a Windows filter sees in the Winelib build
 * (tests/winelib/test_winelib.py).
 *
 * Response headers it adds (SEND_RESPONSE):
 *   X-Phys        pszPhysicalPath as URL_MAP gave it
 *   X-Appl        APPL_PHYSICAL_PATH
 *   X-Translated  PATH_TRANSLATED
 *   X-Module      GetModuleFileNameA of the DLL itself
 *   X-Ini         the "greeting" value of winview.ini beside the DLL
 *   X-Thread      "ok" when thread-local storage (TlsGetValue) and GetLastError behave on
 *                 the calling thread; the thread id follows
 * URL_MAP of /remap/<name> rewrites the physical path to <site root>\<name> in Windows form,
 * so the server must map it back to serve the file. URL_MAP of /thread-crash starts a
 * thread of the filter's own that writes through a null pointer: no filter call is on that
 * thread, so nothing contains the fault and the process ends (its supervisor restarts it).
 */
#include <windows.h>
#include <httpfilt.h>
#include <stdio.h>
#include <string.h>

static HMODULE self;
static DWORD tls = TLS_OUT_OF_INDEXES;
static char module_path[MAX_PATH];
static char greeting[128];

typedef struct view {
    char phys[MAX_PATH];
} view;

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    (void)reserved;
    if (reason == DLL_PROCESS_ATTACH)
        self = inst;
    return TRUE;
}

static int *volatile nowhere;   /* always NULL */

static DWORD WINAPI crash_thread(LPVOID arg)
{
    (void)arg;
    *nowhere = 1;
    return 0;
}

BOOL WINAPI GetFilterVersion(HTTP_FILTER_VERSION *pVer)
{
    GetModuleFileNameA(self, module_path, sizeof module_path);
    char ini[MAX_PATH];
    lstrcpynA(ini, module_path, sizeof ini);
    char *dot = strrchr(ini, '.');
    if (dot)
        lstrcpyA(dot, ".ini");
    GetPrivateProfileStringA("winview", "greeting", "absent", greeting, sizeof greeting, ini);
    tls = TlsAlloc();
    pVer->dwFilterVersion = HTTP_FILTER_REVISION;
    lstrcpynA(pVer->lpszFilterDesc, "winview: what a Windows filter sees", SF_MAX_FILTER_DESC_LEN);
    pVer->dwFlags = SF_NOTIFY_ORDER_DEFAULT | SF_NOTIFY_URL_MAP | SF_NOTIFY_SEND_RESPONSE
                    | SF_NOTIFY_END_OF_NET_SESSION;
    return tls != TLS_OUT_OF_INDEXES;
}

static void add_var(HTTP_FILTER_CONTEXT *pfc, HTTP_FILTER_SEND_RESPONSE *sr, const char *var,
                    const char *header)
{
    char buf[MAX_PATH];
    DWORD len = sizeof buf;
    if (!pfc->GetServerVariable(pfc, (LPSTR)var, buf, &len))
        lstrcpyA(buf, "-");
    sr->AddHeader(pfc, (LPSTR)header, buf);
}

DWORD WINAPI HttpFilterProc(HTTP_FILTER_CONTEXT *pfc, DWORD notificationType,
                            LPVOID pvNotification)
{
    /* A value only this call stores: another thread's slot must not show through. */
    char mark[8];
    TlsSetValue(tls, mark);
    SetLastError(0x1234);
    Sleep(0);   /* let other workers run on this processor meanwhile */
    /* GetLastError first: a successful TlsGetValue clears the last error. */
    int ok = GetLastError() == 0x1234;
    ok = ok && TlsGetValue(tls) == mark;
    view *v = pfc->pFilterContext;
    if (!v) {
        v = pfc->AllocMem(pfc, sizeof *v, 0);
        if (!v)
            return SF_STATUS_REQ_ERROR;
        v->phys[0] = '\0';
        pfc->pFilterContext = v;
    }
    if (notificationType == SF_NOTIFY_URL_MAP) {
        HTTP_FILTER_URL_MAP *map = pvNotification;
        lstrcpynA(v->phys, map->pszPhysicalPath, sizeof v->phys);
        if (strcmp(map->pszURL, "/thread-crash") == 0) {
            HANDLE h = CreateThread(NULL, 0, crash_thread, NULL, 0, NULL);
            if (h) {
                WaitForSingleObject(h, 10000);
                CloseHandle(h);
            }
        }
        if (strncmp(map->pszURL, "/remap/", 7) == 0) {
            /* The site root is the physical path minus the URL's own tail. */
            char root[MAX_PATH];
            DWORD len = sizeof root;
            if (pfc->GetServerVariable(pfc, "APPL_PHYSICAL_PATH", root, &len)
                && strlen(root) + strlen(map->pszURL) + 2 < map->cbPathBuff)
                snprintf(map->pszPhysicalPath, map->cbPathBuff, "%s\\%s", root,
                         map->pszURL + 7);
        }
    } else if (notificationType == SF_NOTIFY_SEND_RESPONSE) {
        HTTP_FILTER_SEND_RESPONSE *sr = pvNotification;
        sr->AddHeader(pfc, "X-Phys:", v->phys);
        add_var(pfc, sr, "APPL_PHYSICAL_PATH", "X-Appl:");
        add_var(pfc, sr, "PATH_TRANSLATED", "X-Translated:");
        sr->AddHeader(pfc, "X-Module:", module_path);
        sr->AddHeader(pfc, "X-Ini:", greeting);
    }
    char thread[64];
    snprintf(thread, sizeof thread, "%s %lu", ok ? "ok" : "broken",
             (unsigned long)GetCurrentThreadId());
    if (notificationType == SF_NOTIFY_SEND_RESPONSE) {
        HTTP_FILTER_SEND_RESPONSE *sr = pvNotification;
        sr->AddHeader(pfc, "X-Thread:", thread);
    }
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}
