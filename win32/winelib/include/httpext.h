/*
 * httpext.h for the Winelib build: Wine ships no httpext.h; see httpfilt.h beside this
 * file.
 */
#include "../../../shim/include/httpext.h"
