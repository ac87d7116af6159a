/*
 * guard_seh.h - shared by the structured-exception guards (isapi/guard_seh.c).
 */
#ifndef ISAPI_GUARD_SEH_H
#define ISAPI_GUARD_SEH_H

#include "guard.h"

/* 1 if the guard contains an exception with this code: every error-severity code
 * (0xC0000000 and up) and datatype misalignment, but not a stack overflow (the thread's
 * guard page is spent; the next overflow would end the process silently). */
int isapi__guard_contained(DWORD code);

/* Copies what the log needs from the exception record into *f. */
void isapi__guard_record(isapi__fault *f, const EXCEPTION_RECORD *rec);

#endif
