/*
 * route.h - which handler a request path reaches, as IIS decides it: virtual directories
 * (URL prefix -> folder, with read/script/execute access), a URL naming a DLL in a folder
 * with Execute access, script maps (file extension -> DLL, verbs, "verify that file
 * exists") and the wildcard map. docs/configuration.md describes the sections.
 *
 * Everything here only reads the configuration; the caller loads the DLL it names.
 */
#ifndef HOST_ROUTE_H
#define HOST_ROUTE_H

#include "config.h"

#include <stddef.h>

#define HOST_ROUTE_PATH 4096

/* The virtual directory a URL path falls in: the longest configured prefix, else the
 * root ("/", cfg->root, cfg->root_access). */
typedef struct host_vdir_match {
    const char *url;        /* "/scripts", or "" for the root */
    size_t url_len;
    const char *folder;
    unsigned access;        /* HOST_ACCESS_* */
} host_vdir_match_t;

void host_route_vdir(const host_config_t *cfg, const char *path, host_vdir_match_t *m);

/* The physical path of the URL path `path` (decoded, normalised) through the virtual
 * directories. Returns its length, or a negative PLAT_E* code (too long, refused by
 * plat_path_join). *m (may be NULL) receives the directory. */
int host_route_map_path(const host_config_t *cfg, const char *path, char *out, size_t outlen,
                        host_vdir_match_t *m);

typedef enum host_handler {
    HOST_HANDLER_STATIC,        /* the static handler (access checked there) */
    HOST_HANDLER_EXTENSION,     /* route.dll runs the request */
    HOST_HANDLER_REFUSE         /* route.status (403, 404, 405 with route.allow) */
} host_handler_t;

/* host_route_select() sets each field by name (no memset of the path buffers): a field
 * added here must be set there too. */
typedef struct host_route {
    host_handler_t handler;
    int status;
    const char *allow;                      /* 405: the map's verbs */
    const char *dll;                        /* EXTENSION: the DLL's path */
    int direct;                             /* the URL named the DLL itself */
    char dll_buf[HOST_ROUTE_PATH];          /* a DLL named in the URL: its physical path */
    char script_name[HOST_ROUTE_PATH];      /* SCRIPT_NAME */
    char path_info[HOST_ROUTE_PATH];        /* PATH_INFO */
    char path_translated[HOST_ROUTE_PATH];  /* PATH_TRANSLATED */
    char script_translated[HOST_ROUTE_PATH];/* SCRIPT_TRANSLATED */
    char appl_md_path[512];                 /* APPL_MD_PATH */
    char appl_physical_path[HOST_ROUTE_PATH];/* APPL_PHYSICAL_PATH, with its separator */
    unsigned access;                        /* the folder's HOST_ACCESS_* */
} host_route_t;

/* Decides the handler of `method` on the URL path `path` (decoded, normalised). */
void host_route_select(const host_config_t *cfg, const char *method, const char *path,
                       host_route_t *out);

#endif
