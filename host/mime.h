/*
 * mime.h - Content-Type for a file name, by extension (case-insensitive), as IIS's
 * static MIME map does. Unknown extensions get application/octet-stream.
 */
#ifndef HOST_MIME_H
#define HOST_MIME_H

/* Returns a static string; never NULL. */
const char *host_mime_type(const char *path);

#endif
