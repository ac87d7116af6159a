/*
 * noop.c - a filter that does nothing, as fast as it can: the benchmark's measure of the
 * host's own cost per notification.
 *
 * It registers for PREPROC_HEADERS, URL_MAP, SEND_RESPONSE, END_OF_REQUEST and LOG on both
 * port types, at low priority, and every HttpFilterProc call returns
 * SF_STATUS_REQ_NEXT_NOTIFICATION without reading its arguments. A request served with it
 * loaded therefore differs from one served without it only by the engine's dispatch of
 * five notifications (tests/bench/run.py scenario S2; tests/bench/dispatch.c times the
 * dispatch alone). It keeps no state, so any number of copies may be loaded at once.
 */
#include <windows.h>
#include <httpfilt.h>

BOOL WINAPI GetFilterVersion(PHTTP_FILTER_VERSION pVer);
DWORD WINAPI HttpFilterProc(PHTTP_FILTER_CONTEXT pfc, DWORD notificationType,
                            LPVOID pvNotification);

BOOL WINAPI GetFilterVersion(PHTTP_FILTER_VERSION pVer)
{
    pVer->dwFilterVersion = HTTP_FILTER_REVISION;
    lstrcpynA(pVer->lpszFilterDesc, "isapihost benchmark no-op filter", SF_MAX_FILTER_DESC_LEN);
    pVer->dwFlags = SF_NOTIFY_SECURE_PORT | SF_NOTIFY_NONSECURE_PORT | SF_NOTIFY_ORDER_LOW
                    | SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_URL_MAP | SF_NOTIFY_SEND_RESPONSE
                    | SF_NOTIFY_END_OF_REQUEST | SF_NOTIFY_LOG;
    return TRUE;
}

DWORD WINAPI HttpFilterProc(PHTTP_FILTER_CONTEXT pfc, DWORD notificationType,
                            LPVOID pvNotification)
{
    (void)pfc;
    (void)notificationType;
    (void)pvNotification;
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}
