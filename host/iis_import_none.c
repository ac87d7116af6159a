/*
 * iis_import_none.c - `--import-iis` in a build without libxml2 (the Windows builds, whose
 * mingw-w64 toolchain in Debian has no libxml2): it says so and does nothing. Import the
 * configuration with a native build and copy the INI over.
 */
#include "iis_import.h"

#include <stdio.h>
#include <string.h>

int host_iis_import(const host_iis_import_options_t *o, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: --import-iis: this build has no XML parser (libxml2); run the "
             "import with a native build and copy the INI", o->input ? o->input : "-");
    return -1;
}

int host_iis_import_args(int argc, char **argv, host_iis_import_options_t *o, char *err,
                         size_t errlen)
{
    (void)err;
    (void)errlen;
    memset(o, 0, sizeof *o);
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--import-iis") == 0)
            o->input = argv[i + 1];
    return 0;
}
