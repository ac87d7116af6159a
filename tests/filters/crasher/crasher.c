/*
 * crasher.c - a test filter that faults on request, to test crash containment.
 *
 * A request for /crash/<how>[/<where>] makes the filter fault:
 *   how:   null  (write through a null pointer: access violation writing 0x00000000)
 *          read  (read from address 0x10: access violation reading)
 *          div0  (integer divide by zero)
 *   where: preproc (default), url_map, send_response, end_of_request, log.
 * Every other request passes, and responses get "X-Crasher: alive" so a test can tell the
 * filter is loaded. With the environment variable CRASHER_AT_LOAD=1, GetFilterVersion
 * itself faults (null write).
 *
 * The plan for a request is kept in pFilterContext (an index, no memory), set in
 * PREPROC_HEADERS, which every request sees first. The faults go through volatile objects
 * so the compiler emits the faulting instruction instead of proving the fault and
 * replacing it with a trap.
 */
#include <windows.h>
#include <httpfilt.h>
#include <stdlib.h>
#include <string.h>

static int *volatile nowhere;          /* always NULL */
static volatile int zero;              /* always 0 */
static volatile int seven = 7;
static volatile int sink;

enum { HOW_NONE, HOW_NULL, HOW_READ, HOW_DIV0 };

static void fault(int how)
{
    switch (how) {
    case HOW_NULL:
        *nowhere = 1;
        break;
    case HOW_READ:
        sink = *(volatile int *)((char *)nowhere + 0x10);
        break;
    case HOW_DIV0:
        /* Why not 1 / zero: gcc computes 1 / x without a division instruction. */
        sink = seven / zero;
        break;
    default:
        break;
    }
}

static const struct { const char *name; DWORD notif; } wheres[] = {
    { "preproc", SF_NOTIFY_PREPROC_HEADERS },
    { "url_map", SF_NOTIFY_URL_MAP },
    { "send_response", SF_NOTIFY_SEND_RESPONSE },
    { "end_of_request", SF_NOTIFY_END_OF_REQUEST },
    { "log", SF_NOTIFY_LOG },
};

/* pFilterContext holds how * 16 + where index + 1, or NULL for no crash. */
static void plan(HTTP_FILTER_CONTEXT *pfc, const char *url)
{
    pfc->pFilterContext = NULL;
    if (strncmp(url, "/crash/", 7) != 0)
        return;
    const char *how = url + 7;
    int h = strncmp(how, "null", 4) == 0 ? HOW_NULL : strncmp(how, "read", 4) == 0 ? HOW_READ
          : strncmp(how, "div0", 4) == 0 ? HOW_DIV0 : HOW_NONE;
    if (h == HOW_NONE)
        return;
    const char *where = how + 4;
    size_t w = 0;
    if (*where == '/')
        for (size_t i = 0; i < sizeof wheres / sizeof wheres[0]; i++)
            if (strncmp(where + 1, wheres[i].name, strlen(wheres[i].name)) == 0)
                w = i;
    pfc->pFilterContext = (void *)(ULONG_PTR)(h * 16 + w + 1);
}

BOOL WINAPI GetFilterVersion(HTTP_FILTER_VERSION *pVer)
{
    const char *at_load = getenv("CRASHER_AT_LOAD");
    if (at_load && strcmp(at_load, "1") == 0)
        fault(HOW_NULL);
    pVer->dwFilterVersion = HTTP_FILTER_REVISION;
    lstrcpynA(pVer->lpszFilterDesc, "crasher test filter: faults on /crash/...",
              SF_MAX_FILTER_DESC_LEN);
    pVer->dwFlags = SF_NOTIFY_ORDER_DEFAULT | SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_URL_MAP
                  | SF_NOTIFY_SEND_RESPONSE | SF_NOTIFY_END_OF_REQUEST | SF_NOTIFY_LOG;
    return TRUE;
}

DWORD WINAPI HttpFilterProc(HTTP_FILTER_CONTEXT *pfc, DWORD notificationType,
                            LPVOID pvNotification)
{
    if (notificationType == SF_NOTIFY_PREPROC_HEADERS) {
        HTTP_FILTER_PREPROC_HEADERS *ph = pvNotification;
        char url[512];
        DWORD size = sizeof url;
        if (ph->GetHeader(pfc, "url", url, &size))
            plan(pfc, url);
        else
            pfc->pFilterContext = NULL;
    }
    if (notificationType == SF_NOTIFY_SEND_RESPONSE) {
        HTTP_FILTER_SEND_RESPONSE *sr = pvNotification;
        sr->AddHeader(pfc, "X-Crasher:", "alive");
    }
    ULONG_PTR p = (ULONG_PTR)pfc->pFilterContext;
    if (p && wheres[(p - 1) % 16].notif == notificationType) {
        pfc->pFilterContext = NULL;
        fault((int)((p - 1) / 16));
    }
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}
