/*
 * mime.h - Content-Type for a file name, by extension (case-insensitive), as IIS's
 * static MIME map does, and the rule that only mapped extensions are served.
 *
 * Why a file whose extension has no MIME type is not served: IIS 6 and later answer such a
 * request with 404 (404.3, "MIME map policy prevents this request"; KB 326965), so a DLL,
 * an .ini or an .so that lies under the site root is never sent as a file. The default map
 * lists common web types and nothing executable; [mime] in the INI file adds or removes
 * entries (docs/configuration.md).
 */
#ifndef HOST_MIME_H
#define HOST_MIME_H

#include <stddef.h>

/* Returns the type for path's extension (a static string or one from the configured map,
 * valid for the whole run), or NULL when the extension has no type: the file is not
 * served. */
const char *host_mime_type(const char *path);

/* Adds or replaces the type of extension `ext` ("txt" or ".txt"); an empty type removes
 * the extension from the map. Call before serving starts (configuration). Returns 0, or
 * -1 with *why set (extension or type malformed or too long, table full). */
int host_mime_set(const char *ext, const char *type, const char **why);

/* Restores the built-in map (tests, a configuration read again). */
void host_mime_reset(void);

#endif
