/*
 * iis_import.h - `isapihost --import-iis`: an IIS configuration turned into an isapihost INI.
 *
 * Reads an IIS 7+ applicationHost.config or an IIS 6 MetaBase.xml (told apart by their root
 * element) with libxml2, picks one site, and writes an INI file: listeners from the http
 * bindings, the root from the site's "/" virtual directory, the global filters then the
 * site's in load order, the default documents, the W3C log settings and the site id. Every
 * IIS setting read that has no isapihost equivalent (https bindings, host names, other
 * virtual directories, disabled filters, handler and script mappings, other sites, other
 * log formats) becomes a "; not carried:" comment saying why, so nothing is dropped
 * silently. Builds without libxml2 compile iis_import_none.c, which refuses with a reason.
 */
#ifndef HOST_IIS_IMPORT_H
#define HOST_IIS_IMPORT_H

#include <stddef.h>

#define HOST_IIS_MAX_MAPS 16

typedef struct host_iis_import_options {
    const char *input;          /* applicationHost.config or MetaBase.xml */
    const char *output;         /* the INI to write; NULL or "-" = standard output */
    const char *site;           /* the site's name or id; NULL = the first site */
    /* Windows path prefixes and what they become here ("C:\inetpub" -> "/srv/inetpub"),
     * compared without regard to case or to '\' versus '/' */
    const char *map_from[HOST_IIS_MAX_MAPS];
    const char *map_to[HOST_IIS_MAX_MAPS];
    size_t nmaps;
} host_iis_import_options_t;

/* Runs the import. Returns 0, or -1 with one line "FILE: reason" in err. */
int host_iis_import(const host_iis_import_options_t *o, char *err, size_t errlen);

/* Parses the command line of the import (argv[1] is "--import-iis"): --import-iis FILE,
 * --out INI, --site NAME|ID, --map WINPATH=PATH (repeatable). Returns 0, or -1 with
 * "command line: option: reason" in err. */
int host_iis_import_args(int argc, char **argv, host_iis_import_options_t *o, char *err,
                         size_t errlen);

#endif
