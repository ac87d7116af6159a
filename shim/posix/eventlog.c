/*
 * eventlog.c - advapi32's event log for writers (RegisterEventSourceA, ReportEventA,
 * DeregisterEventSource), served by syslog(3).
 *
 * Filters written from Microsoft's samples report errors with these three calls. An event
 * source is a record holding its name, which becomes the syslog ident; its HANDLE is the
 * record's address, checked against the list of open sources before use, so a stale or
 * invented handle fails with ERROR_INVALID_HANDLE as on Windows instead of crashing.
 *
 * ReportEventA writes one line, "event <id>[ (category <c>)]: <strings joined by spaces>",
 * at most SHIM_EVENT_MESSAGE_MAX bytes ("..." marks a cut), every string made printable on
 * one line like OutputDebugStringA's text. The id is shown as Event Viewer shows it: its low
 * 16 bits. wType picks the priority: ERROR -> LOG_ERR, WARNING -> LOG_WARNING, INFORMATION
 * and SUCCESS -> LOG_INFO, AUDIT_SUCCESS -> LOG_INFO, AUDIT_FAILURE -> LOG_NOTICE, anything
 * else LOG_INFO; the facility is LOG_USER. The security id and the raw data are not logged.
 *
 * syslog has one ident per process (openlog), so each report re-opens the log under the
 * source's name when another source wrote last; all of it under one lock. A test can take
 * the messages instead with ShimSetEventLogSink (shim.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "shim_private.h"
#include <shim.h>

#define SHIM_EVENT_MAGIC 0x45564c47u          /* "EVLG" */
#define SHIM_EVENT_SOURCE_MAX 255             /* bytes of a source name kept */
#define SHIM_EVENT_MESSAGE_MAX 2048           /* bytes of one message */

struct shim_event_source {
    uint32_t magic;
    struct shim_event_source *next;
    char name[SHIM_EVENT_SOURCE_MAX + 1];
};

static pthread_mutex_t shim_event_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shim_event_source *shim_event_sources;   /* open sources */
static const char *shim_syslog_ident;                  /* the name openlog holds, or NULL */
static ShimEventLogSink shim_event_sink;

/* Caller holds the lock. */
static struct shim_event_source *shim__event_source_find(HANDLE h)
{
    for (struct shim_event_source *s = shim_event_sources; s; s = s->next)
        if ((HANDLE)s == h && s->magic == SHIM_EVENT_MAGIC)
            return s;
    return NULL;
}

/*** ShimSetEventLogSink (shim) ***/
void ShimSetEventLogSink(ShimEventLogSink sink)
{
    pthread_mutex_lock(&shim_event_lock);
    shim_event_sink = sink;
    pthread_mutex_unlock(&shim_event_lock);
}

/*** RegisterEventSourceA (shim advapi32) ***/
HANDLE WINAPI RegisterEventSourceA(LPCSTR lpUNCServerName, LPCSTR lpSourceName)
{
    struct shim_event_source *s;

    if (!lpSourceName) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    if (lpUNCServerName && *lpUNCServerName)
        SHIM_FIXME("events for another computer are logged on this one");
    s = calloc(1, sizeof *s);
    if (!s) {
        shim_set_errno(ENOMEM);
        return NULL;
    }
    s->magic = SHIM_EVENT_MAGIC;
    shim__one_line(s->name, lpSourceName, SHIM_EVENT_SOURCE_MAX - 3);
    pthread_mutex_lock(&shim_event_lock);
    s->next = shim_event_sources;
    shim_event_sources = s;
    pthread_mutex_unlock(&shim_event_lock);
    return (HANDLE)s;
}

static int shim__event_priority(WORD wType)
{
    switch (wType) {
    case EVENTLOG_ERROR_TYPE: return LOG_ERR;
    case EVENTLOG_WARNING_TYPE: return LOG_WARNING;
    case EVENTLOG_AUDIT_FAILURE: return LOG_NOTICE;
    default: return LOG_INFO;   /* SUCCESS, INFORMATION, AUDIT_SUCCESS, unknown */
    }
}

/* Appends src as one printable line to msg (length *len, capacity SHIM_EVENT_MESSAGE_MAX
 * plus the "..." and the NUL); returns 0 once the message is full. */
static int shim__event_append(char *msg, size_t *len, const char *src)
{
    size_t room = SHIM_EVENT_MESSAGE_MAX - *len;
    size_t n = shim__one_line(msg + *len, src, room);
    *len += n;
    return n <= room;   /* a cut string ends in "...", past the room */
}

/*** ReportEventA (shim advapi32) ***/
BOOL WINAPI ReportEventA(HANDLE hEventLog, WORD wType, WORD wCategory, DWORD dwEventID,
                         PSID lpUserSid, WORD wNumStrings, DWORD dwDataSize,
                         LPCSTR *lpStrings, LPVOID lpRawData)
{
    char msg[SHIM_EVENT_MESSAGE_MAX + 4];
    size_t len;
    int priority = shim__event_priority(wType);
    struct shim_event_source *s;

    if (wCategory)
        len = (size_t)snprintf(msg, sizeof msg, "event %u (category %u):", (unsigned)(dwEventID & 0xffff),
                               (unsigned)wCategory);
    else
        len = (size_t)snprintf(msg, sizeof msg, "event %u:", (unsigned)(dwEventID & 0xffff));
    for (WORD i = 0; lpStrings && i < wNumStrings; i++) {
        if (!lpStrings[i])
            continue;
        if (!shim__event_append(msg, &len, " ") || !shim__event_append(msg, &len, lpStrings[i]))
            break;
    }

    pthread_mutex_lock(&shim_event_lock);
    s = shim__event_source_find(hEventLog);
    if (!s) {
        pthread_mutex_unlock(&shim_event_lock);
        SetLastError(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    if (shim_event_sink) {
        shim_event_sink(s->name, priority, msg);
    } else {
        if (shim_syslog_ident != s->name) {
            openlog(s->name[0] ? s->name : NULL, LOG_PID, LOG_USER);
            shim_syslog_ident = s->name;
        }
        syslog(priority, "%s", msg);
    }
    pthread_mutex_unlock(&shim_event_lock);
    return TRUE;
}

/*** DeregisterEventSource (shim advapi32) ***/
BOOL WINAPI DeregisterEventSource(HANDLE hEventLog)
{
    struct shim_event_source **link, *s = NULL;

    pthread_mutex_lock(&shim_event_lock);
    for (link = &shim_event_sources; *link; link = &(*link)->next) {
        if ((HANDLE)*link == hEventLog) {
            s = *link;
            *link = s->next;
            break;
        }
    }
    if (s && shim_syslog_ident == s->name) {
        /* openlog keeps the pointer: let go of it before the name is freed. */
        closelog();
        shim_syslog_ident = NULL;
    }
    pthread_mutex_unlock(&shim_event_lock);
    if (!s) {
        SetLastError(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    s->magic = 0;
    free(s);
    return TRUE;
}
