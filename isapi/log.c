/*
 * log.c - the engine's log: isapi__log sends one line to the connection's log callback
 * (isapi_ops.log) or the engine's (isapi_config.log), and isapi__error_text turns a Win32
 * error code into the words the log lines carry.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

void isapi__log(isapi_engine *e, const isapi_conn *c, int level, const char *filter,
                const char *fmt, ...)
{
    isapi_log_fn fn = e->log;
    void *ctx = e->log_ctx;
    if (c && c->ops && c->ops->log) {
        fn = c->ops->log;
        ctx = c->ops->log_ctx;
    }
    if (!fn)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fn(ctx, level, filter, msg);
}

void isapi__error_text(DWORD code, char *buf, size_t len)
{
    char text[512];
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                             NULL, code, 0, text, (DWORD)sizeof text, NULL);
    while (n > 0 && (text[n - 1] == '\r' || text[n - 1] == '\n' || text[n - 1] == ' '))
        n--;
    /* Why: the system text of some codes has an insert for the file name ("%1 is not a
     * valid Win32 application."); the line names the file already. */
    char *ins = n > 0 ? strstr(text, "%1") : NULL;
    if (ins && ins < text + n && n + 8 < sizeof text) {
        memmove(ins + 8, ins + 2, (size_t)(text + n - (ins + 2)));
        memcpy(ins, "the file", 8);
        n += 6;
    }
    if (n == 0)
        snprintf(buf, len, "Win32 error %lu", (unsigned long)code);
    else
        snprintf(buf, len, "error %lu: %.*s", (unsigned long)code, (int)n, text);
}

