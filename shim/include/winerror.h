/*
 * winerror.h (shim) - the Win32 error codes the shim and the ISAPI engine set and filters
 * test. Values are Windows' own; the list is the subset this project uses, and the shim's
 * FormatMessageA knows a message for each of them (shim/posix/error.c).
 */
#ifndef SHIM_WINERROR_H
#define SHIM_WINERROR_H

#define ERROR_SUCCESS                 0L
#define NO_ERROR                      0L
#define ERROR_INVALID_FUNCTION        1L
#define ERROR_FILE_NOT_FOUND          2L
#define ERROR_PATH_NOT_FOUND          3L
#define ERROR_TOO_MANY_OPEN_FILES     4L
#define ERROR_ACCESS_DENIED           5L
#define ERROR_INVALID_HANDLE          6L
#define ERROR_NOT_ENOUGH_MEMORY       8L
#define ERROR_BAD_FORMAT              11L
#define ERROR_INVALID_DATA            13L
#define ERROR_OUTOFMEMORY             14L
#define ERROR_NO_MORE_FILES           18L
#define ERROR_WRITE_FAULT             29L
#define ERROR_READ_FAULT              30L
#define ERROR_GEN_FAILURE             31L
#define ERROR_SHARING_VIOLATION       32L
#define ERROR_HANDLE_EOF              38L
#define ERROR_NOT_SUPPORTED           50L
#define ERROR_NETNAME_DELETED         64L
#define ERROR_FILE_EXISTS             80L
#define ERROR_INVALID_PARAMETER       87L
#define ERROR_BROKEN_PIPE             109L
#define ERROR_BUFFER_OVERFLOW         111L
#define ERROR_DISK_FULL               112L
#define ERROR_CALL_NOT_IMPLEMENTED    120L
#define ERROR_INSUFFICIENT_BUFFER     122L
#define ERROR_INVALID_NAME            123L
#define ERROR_MOD_NOT_FOUND           126L
#define ERROR_PROC_NOT_FOUND          127L
#define ERROR_NEGATIVE_SEEK           131L
#define ERROR_DIR_NOT_EMPTY           145L
#define ERROR_BUSY                    170L
#define ERROR_ALREADY_EXISTS          183L
#define ERROR_BAD_EXE_FORMAT          193L
#define ERROR_ENVVAR_NOT_FOUND        203L
#define ERROR_FILENAME_EXCED_RANGE    206L
#define ERROR_NO_DATA                 232L
#define ERROR_MORE_DATA               234L
#define WAIT_TIMEOUT                  258L
#define ERROR_NO_MORE_ITEMS           259L
#define ERROR_NOT_OWNER               288L
#define ERROR_TOO_MANY_POSTS          298L
#define ERROR_MR_MID_NOT_FOUND        317L
#define ERROR_INVALID_ADDRESS         487L
#define ERROR_ARITHMETIC_OVERFLOW     534L
#define ERROR_OPERATION_ABORTED       995L
#define ERROR_IO_PENDING              997L
#define ERROR_NOACCESS                998L
#define ERROR_INVALID_FLAGS           1004L
#define ERROR_BADDB                   1009L
#define ERROR_BADKEY                  1010L
#define ERROR_CANTOPEN                1011L
#define ERROR_CANTREAD                1012L
#define ERROR_DLL_INIT_FAILED         1114L
#define ERROR_NO_UNICODE_TRANSLATION  1113L
#define ERROR_INVALID_INDEX           1413L
#define ERROR_TIMEOUT                 1460L
#define ERROR_CONNECTION_REFUSED      1225L
#define ERROR_CONNECTION_ABORTED      1236L

#endif
