/*
 * writer.c - a test filter that calls WriteClient from several notifications, so the
 * integration tests can check which bytes reach the wire and in which order.
 *
 * A request whose URL is under /writer/ names the points in its query string, one letter
 * each: p (PREPROC_HEADERS), u (URL_MAP), s (SEND_RESPONSE), e (END_OF_REQUEST). At each
 * named point the filter writes "[P]", "[U]", "[S]" or "[E]" with WriteClient and returns
 * SF_STATUS_REQ_NEXT_NOTIFICATION, so the server's own response follows the early marks
 * and precedes "[E]". The letter f makes PREPROC_HEADERS answer the request itself:
 * SF_REQ_SEND_RESPONSE_HEADER with "200 OK" and a Content-Length, WriteClient of the body
 * "finished by writer\n", then SF_STATUS_REQ_FINISHED. The letter v adds the response
 * headers X-Sv-HTTPS and X-Sv-Server-Port-Secure (AddResponseHeaders in PREPROC_HEADERS)
 * with the values of the server variables HTTPS and SERVER_PORT_SECURE. The letters r and R
 * make AUTH_COMPLETE rewrite the url to /a.txt; with R it also sets fResetAuth, asking the
 * server to authenticate the rewritten request again.
 *
 * The digits 1 to 4 answer the request in PREPROC_HEADERS (1), URL_MAP (2), AUTHENTICATION
 * (3) or AUTH_COMPLETE (4) with SF_REQ_SEND_RESPONSE_HEADER ("200 OK", a Content-Length)
 * and WriteClient of "answered by writer\n", and then return
 * SF_STATUS_REQ_NEXT_NOTIFICATION, as some filters do: the server must not follow with a
 * response of its own. The letter k answers like f with "Connection: keep-alive" in the
 * header text and returns SF_STATUS_REQ_FINISHED_KEEP_CONN; K makes SEND_RESPONSE remove
 * Content-Length and set "Connection: keep-alive" on the server's own response.
 *
 * The query is read in PREPROC_HEADERS (GetHeader "url") and kept in a per-connection
 * AllocMem record on pFilterContext, cleared in END_OF_REQUEST: the later notifications have
 * no header accessors, and the record shows that the context survives the request.
 */
#include <windows.h>
#include <httpfilt.h>
#include <string.h>

#define WRITER_PREFIX "/writer/"

typedef struct {
    char points[16];   /* the letters of the current request; "" when not ours */
} writer_state;

static const char finished_body[] = "finished by writer\n";
static const char answered_body[] = "answered by writer\n";

BOOL WINAPI GetFilterVersion(HTTP_FILTER_VERSION *pVer)
{
    pVer->dwFilterVersion = HTTP_FILTER_REVISION;
    pVer->dwFlags = SF_NOTIFY_ORDER_MEDIUM | SF_NOTIFY_SECURE_PORT | SF_NOTIFY_NONSECURE_PORT
                    | SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_URL_MAP | SF_NOTIFY_SEND_RESPONSE
                    | SF_NOTIFY_END_OF_REQUEST | SF_NOTIFY_AUTH_COMPLETE
                    | SF_NOTIFY_AUTHENTICATION;
    lstrcpynA(pVer->lpszFilterDesc, "writer test filter: WriteClient from several notifications",
              SF_MAX_FILTER_DESC_LEN);
    return TRUE;
}

static writer_state *state_of(HTTP_FILTER_CONTEXT *pfc)
{
    if (!pfc->pFilterContext) {
        writer_state *st = (writer_state *)pfc->AllocMem(pfc, sizeof *st, 0);
        if (!st)
            return NULL;
        st->points[0] = '\0';
        pfc->pFilterContext = st;
    }
    return (writer_state *)pfc->pFilterContext;
}

static void mark(HTTP_FILTER_CONTEXT *pfc, const writer_state *st, char letter, const char *text)
{
    if (st && strchr(st->points, letter)) {
        DWORD n = (DWORD)lstrlenA(text);
        pfc->WriteClient(pfc, (LPVOID)text, &n, 0);
    }
}

/* Sends a complete response (header block and body) from the filter itself; with
 * keep_alive the header text claims "Connection: keep-alive". */
static BOOL answer(HTTP_FILTER_CONTEXT *pfc, const char *body, int keep_alive)
{
    char headers[160];
    DWORD n = (DWORD)lstrlenA(body);
    wsprintfA(headers, "Content-Type: text/plain\r\nContent-Length: %lu\r\n%s\r\n",
              (unsigned long)n, keep_alive ? "Connection: keep-alive\r\n" : "");
    if (!pfc->ServerSupportFunction(pfc, SF_REQ_SEND_RESPONSE_HEADER, (PVOID)"200 OK",
                                    (ULONG_PTR)headers, 0))
        return FALSE;
    return pfc->WriteClient(pfc, (LPVOID)body, &n, 0);
}

/* Digits 1-4: answer at this point and return NEXT_NOTIFICATION all the same. */
static void answer_at(HTTP_FILTER_CONTEXT *pfc, const writer_state *st, char digit)
{
    if (st && strchr(st->points, digit))
        answer(pfc, answered_body, 0);
}

/* GetServerVariable into buf, or "!<error>" when it fails. */
static void variable(HTTP_FILTER_CONTEXT *pfc, const char *name, char *buf, DWORD len)
{
    DWORD size = len;
    if (!pfc->GetServerVariable(pfc, (LPSTR)name, buf, &size))
        wsprintfA(buf, "!%lu", (unsigned long)GetLastError());
}

static void add_variables(HTTP_FILTER_CONTEXT *pfc)
{
    char https[64], secure[64], headers[256];
    variable(pfc, "HTTPS", https, sizeof https);
    variable(pfc, "SERVER_PORT_SECURE", secure, sizeof secure);
    wsprintfA(headers, "X-Sv-HTTPS: %s\r\nX-Sv-Server-Port-Secure: %s\r\n", https, secure);
    pfc->AddResponseHeaders(pfc, headers, 0);
}

static DWORD on_preproc(HTTP_FILTER_CONTEXT *pfc, HTTP_FILTER_PREPROC_HEADERS *ph)
{
    writer_state *st = state_of(pfc);
    char url[1024];
    DWORD size = sizeof url;
    if (!st)
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    st->points[0] = '\0';
    if (!ph->GetHeader(pfc, "url", url, &size))
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    if (_strnicmp(url, WRITER_PREFIX, sizeof WRITER_PREFIX - 1) != 0)
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    const char *q = strchr(url, '?');
    if (q)
        lstrcpynA(st->points, q + 1, sizeof st->points);
    if (strchr(st->points, 'f') || strchr(st->points, 'k')) {
        int keep = strchr(st->points, 'k') != NULL;
        if (!answer(pfc, finished_body, keep))
            return SF_STATUS_REQ_ERROR;
        return keep ? SF_STATUS_REQ_FINISHED_KEEP_CONN : SF_STATUS_REQ_FINISHED;
    }
    if (strchr(st->points, 'v'))
        add_variables(pfc);
    mark(pfc, st, 'p', "[P]");
    answer_at(pfc, st, '1');
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

DWORD WINAPI HttpFilterProc(HTTP_FILTER_CONTEXT *pfc, DWORD notificationType, LPVOID pvNotification)
{
    writer_state *st = (writer_state *)pfc->pFilterContext;
    switch (notificationType) {
    case SF_NOTIFY_PREPROC_HEADERS:
        return on_preproc(pfc, (HTTP_FILTER_PREPROC_HEADERS *)pvNotification);
    case SF_NOTIFY_URL_MAP:
        mark(pfc, st, 'u', "[U]");
        answer_at(pfc, st, '2');
        break;
    case SF_NOTIFY_AUTHENTICATION:
        answer_at(pfc, st, '3');
        break;
    case SF_NOTIFY_AUTH_COMPLETE:
        answer_at(pfc, st, '4');
        if (st && (strchr(st->points, 'r') || strchr(st->points, 'R'))) {
            HTTP_FILTER_AUTH_COMPLETE_INFO *ac = (HTTP_FILTER_AUTH_COMPLETE_INFO *)pvNotification;
            ac->SetHeader(pfc, "url", "/a.txt");
            ac->fResetAuth = strchr(st->points, 'R') ? TRUE : FALSE;
        }
        break;
    case SF_NOTIFY_SEND_RESPONSE:
        mark(pfc, st, 's', "[S]");
        if (st && strchr(st->points, 'K')) {
            HTTP_FILTER_SEND_RESPONSE *sr = (HTTP_FILTER_SEND_RESPONSE *)pvNotification;
            sr->SetHeader(pfc, "Content-Length:", "");
            sr->SetHeader(pfc, "Connection:", "keep-alive");
        }
        break;
    case SF_NOTIFY_END_OF_REQUEST:
        mark(pfc, st, 'e', "[E]");
        if (st)
            st->points[0] = '\0';
        break;
    default:
        break;
    }
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}
