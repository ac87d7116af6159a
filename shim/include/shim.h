/*
 * shim.h - libshim's own functions, beyond the Win32 API (POSIX builds only; a Windows
 * build uses the real registry, debugger and event log and has no use for them).
 */
#ifndef SHIM_SHIM_H
#define SHIM_SHIM_H

#include <stddef.h>
#include <windows.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Loads the registry the advapi32 functions (RegOpenKeyExA, RegQueryValueExA) serve from
 * a .reg file in regedit's text format: "REGEDIT4" (ANSI) or "Windows Registry Editor
 * Version 5.00" saved as UTF-8, so the same file can be imported into a Windows or Wine
 * registry with `regedit /S file.reg`. See shim/README.md for the syntax understood.
 *
 * Replaces any registry loaded before; keys opened earlier keep working and see the new
 * contents. NULL unloads the registry (every key but the roots is then missing).
 * Returns TRUE on success. On failure the previous registry stays in place and FALSE is
 * returned with the last error set: ERROR_FILE_NOT_FOUND (or another file error) when the
 * file cannot be read, ERROR_BADDB when its syntax is wrong; ShimRegistryError() then
 * says what and where.
 *
 * If ShimSetRegistryFile was never called, the first registry call loads the file named
 * by the environment variable ISAPIHOST_REGISTRY, if set (a bad file is reported once on
 * stderr and leaves the registry empty). */
BOOL ShimSetRegistryFile(const char *path);

/* The message for the last failed registry load: "file:line: what went wrong", or "" when
 * the last load succeeded. The string is owned by libshim and valid until the next load. */
const char *ShimRegistryError(void);

/* The most bytes of one OutputDebugStringA call that reach the sink (or stderr); the rest
 * of a longer string is dropped and "..." appended. */
#define SHIM_DEBUG_STRING_MAX 1024

/* Receives OutputDebugStringA text: one line of at most SHIM_DEBUG_STRING_MAX bytes plus
 * "...", NUL-terminated, len bytes long, with no trailing newline; CR, LF and tab inside
 * became spaces and other control bytes '?'. Called on the filter's thread, possibly from
 * several threads at once; the text is valid only during the call. */
typedef void (*ShimDebugSink)(const char *text, size_t len);

/* Sends OutputDebugStringA text to sink; NULL restores the default, one line on stderr
 * ("OutputDebugString[pid:tid]: text"), bounded the same way. */
void ShimSetDebugSink(ShimDebugSink sink);

/* Receives each ReportEventA message instead of syslog(3): the source name given to
 * RegisterEventSourceA (the syslog ident), the syslog priority (LOG_ERR, ...) and the
 * formatted one-line message. For tests; NULL restores syslog. */
typedef void (*ShimEventLogSink)(const char *source, int priority, const char *message);
void ShimSetEventLogSink(ShimEventLogSink sink);

#ifdef __cplusplus
}
#endif

#endif
