/*
 * shim.h - libshim's own functions, beyond the Win32 API (POSIX builds only; a Windows
 * build uses the real registry and has no use for them).
 */
#ifndef SHIM_SHIM_H
#define SHIM_SHIM_H

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

#ifdef __cplusplus
}
#endif

#endif
