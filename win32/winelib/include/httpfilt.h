/*
 * httpfilt.h for the Winelib build: Wine ships no httpfilt.h, so the engine uses the
 * project's own (shim/include/httpfilt.h), whose structures have the Windows layout of
 * both bitnesses. Its #include <windows.h> finds Wine's windows.h (winegcc's include
 * path), not the shim's: this folder holds only the ISAPI headers.
 */
#include "../../../shim/include/httpfilt.h"
