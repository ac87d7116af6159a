/*
 * probe.h - the control and recording channel of the probe test filter (probe.c).
 *
 * A test LoadLibraryA()s the probe DLL, looks up ProbeSetup with GetProcAddress and hands
 * it the behaviour for this test (name, registration flags, GetFilterVersion result, and
 * a script), plus a journal that every probe loaded in the process appends to, so one test
 * sees the order of calls across filters. ProbeLog returns this DLL's own record.
 *
 * Script: rules separated by ';', each "<NOTIF>[@<n>]:<action>,<action>...". NOTIF is one
 * of RAW PRE MAP AUTH AUTHC DENY RESP SEND END LOG EONS or ANY; "@n" limits the rule to
 * the n-th call of that notification (1-based). In action arguments '~' stands for "\r\n",
 * '^HH' for the byte with hex value HH.
 * The actions are listed at the top of probe.c.
 */
#ifndef PROBE_H
#define PROBE_H

#include <windows.h>

typedef struct probe_journal {
    char text[1 << 16];
    size_t len;
} probe_journal;

typedef BOOL (WINAPI *probe_setup_fn)(const char *name, DWORD flags, BOOL version_result,
                                      DWORD version_error, const char *script,
                                      probe_journal *journal);
typedef const char *(WINAPI *probe_log_fn)(void);
typedef void (WINAPI *probe_scribble_fn)(void);

#endif
