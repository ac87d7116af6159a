/*
 * abi_check - the ISAPI binary interface, checked field by field.
 *
 * One table below lists, for every structure of httpfilt.h and httpext.h (but
 * CERT_CONTEXT_EX, which needs wincrypt.h and which the shim leaves out), its size and the
 * offset and size of each field, and, for every constant, its value, each with an x86
 * (i686 Win32) and an x64 (x86_64 Win64) column. The program compares what the compiler
 * it was built with says against the column chosen by pointer size, prints one line per
 * mismatch naming the structure and field ("HTTP_FILTER_CONTEXT.ulReserved: offset 24,
 * expected 16 (x64)"), then "abi: N passed, M failed", and exits non-zero on any failure.
 *
 * The same source is built three ways (tests/abi/CMakeLists.txt): natively against
 * shim/include, and with mingw-w64 for i686 and x86_64 against the toolchain's own
 * windows.h/httpfilt.h/httpext.h, run under Wine. So the shim is held to the Win64 layout,
 * and the expected columns (the header layouts docs/isapi-reference.md describes) are
 * held to what mingw-w64 really compiles.
 *
 * The check is deliberately made at run time, not with _Static_assert: a wrong layout still
 * builds, and the test then names every field that moved, which a failed build cannot do.
 * Every preset's ctest run includes it.
 */
#include <windows.h>
#include <httpfilt.h>
#include <httpext.h>

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* The column that applies to this build: Win64 layout with 8-byte pointers (x86_64
 * mingw-w64, and the shim on LP64 POSIX), Win32 layout with 4-byte pointers (i686). */
#define ABI_IS_X64 (sizeof(void *) == 8)
#define ABI_PICK(x86, x64) (ABI_IS_X64 ? (x64) : (x86))

struct abi_row {
    const char *name;     /* "STRUCT.field", "STRUCT", a type or a constant name */
    const char *measure;  /* "size", "offset", "value", "unsigned", "same type" */
    long long actual;     /* what this compiler says */
    long long x86;        /* expected on i686 Win32 */
    long long x64;        /* expected on x86_64 Win64 */
};

#define ABI_SIZE(T, x86, x64) \
    { #T, "size", (long long)sizeof(T), (x86), (x64) }
/* Two checks per field: where it starts and how wide it is. */
#define ABI_FIELD(T, f, off86, size86, off64, size64)                         \
    { #T "." #f, "offset", (long long)offsetof(T, f), (off86), (off64) },     \
    { #T "." #f, "size", (long long)sizeof(((T *)0)->f), (size86), (size64) }
#define ABI_VALUE(c, v) \
    { #c, "value", (long long)(c), (v), (v) }
#define ABI_UNSIGNED(T, u) \
    { #T, "unsigned", (T)-1 > 0, (u), (u) }

static const struct abi_row abi_rows[] = {
    /* ---- Scalar types (docs/isapi-reference.md, "Types and sizes"; extension types
     * measured, see below) */
    ABI_SIZE(CHAR,                  1,   1),
    ABI_SIZE(DWORD,                 4,   4),
    ABI_SIZE(BOOL,                  4,   4),
    ABI_SIZE(PVOID,                 4,   8),
    ABI_SIZE(LPSTR,                 4,   8),
    ABI_SIZE(ULONG_PTR,             4,   8),
    ABI_SIZE(HANDLE,                4,   8),
    ABI_SIZE(enum SF_REQ_TYPE,      4,   4),
    ABI_SIZE(enum SF_STATUS_TYPE,   4,   4),
    ABI_SIZE(enum SF_PROPERTY_IIS,  4,   4),
    ABI_SIZE(BYTE,                  1,   1),
    ABI_SIZE(USHORT,                2,   2),
    ABI_SIZE(WCHAR,                 2,   2),
    ABI_SIZE(ULONGLONG,             8,   8),
    ABI_SIZE(HCONN,                 4,   8),
    ABI_SIZE(PFN_HSE_IO_COMPLETION, 4,   8),
    /* Why: a DWORD that became signed keeps every offset but changes how filters compare
     * sizes and flags; BOOL is a signed int on Windows (mingw-w64 WINBOOL). */
    ABI_UNSIGNED(DWORD,     1),
    ABI_UNSIGNED(ULONG_PTR, 1),
    ABI_UNSIGNED(BOOL,      0),

    /* ---- Filter structures (docs/isapi-reference.md, "Structures") ---------------- */
    /*                                                        x86         x64 */
    /* structure, field                                     off size    off size */
    ABI_SIZE(HTTP_FILTER_VERSION,                                272,        272),
    ABI_FIELD(HTTP_FILTER_VERSION, dwServerFilterVersion,     0,   4,     0,   4),
    ABI_FIELD(HTTP_FILTER_VERSION, dwFilterVersion,           4,   4,     4,   4),
    ABI_FIELD(HTTP_FILTER_VERSION, lpszFilterDesc,            8, 257,     8, 257),
    ABI_FIELD(HTTP_FILTER_VERSION, dwFlags,                 268,   4,   268,   4),

    ABI_SIZE(HTTP_FILTER_CONTEXT,                                 44,         72),
    ABI_FIELD(HTTP_FILTER_CONTEXT, cbSize,                    0,   4,     0,   4),
    ABI_FIELD(HTTP_FILTER_CONTEXT, Revision,                  4,   4,     4,   4),
    ABI_FIELD(HTTP_FILTER_CONTEXT, ServerContext,             8,   4,     8,   8),
    ABI_FIELD(HTTP_FILTER_CONTEXT, ulReserved,               12,   4,    16,   4),
    ABI_FIELD(HTTP_FILTER_CONTEXT, fIsSecurePort,            16,   4,    20,   4),
    ABI_FIELD(HTTP_FILTER_CONTEXT, pFilterContext,           20,   4,    24,   8),
    ABI_FIELD(HTTP_FILTER_CONTEXT, GetServerVariable,        24,   4,    32,   8),
    ABI_FIELD(HTTP_FILTER_CONTEXT, AddResponseHeaders,       28,   4,    40,   8),
    ABI_FIELD(HTTP_FILTER_CONTEXT, WriteClient,              32,   4,    48,   8),
    ABI_FIELD(HTTP_FILTER_CONTEXT, AllocMem,                 36,   4,    56,   8),
    ABI_FIELD(HTTP_FILTER_CONTEXT, ServerSupportFunction,    40,   4,    64,   8),

    ABI_SIZE(HTTP_FILTER_RAW_DATA,                                16,         24),
    ABI_FIELD(HTTP_FILTER_RAW_DATA, pvInData,                 0,   4,     0,   8),
    ABI_FIELD(HTTP_FILTER_RAW_DATA, cbInData,                 4,   4,     8,   4),
    ABI_FIELD(HTTP_FILTER_RAW_DATA, cbInBuffer,               8,   4,    12,   4),
    ABI_FIELD(HTTP_FILTER_RAW_DATA, dwReserved,              12,   4,    16,   4),

    ABI_SIZE(HTTP_FILTER_PREPROC_HEADERS,                         20,         32),
    ABI_FIELD(HTTP_FILTER_PREPROC_HEADERS, GetHeader,         0,   4,     0,   8),
    ABI_FIELD(HTTP_FILTER_PREPROC_HEADERS, SetHeader,         4,   4,     8,   8),
    ABI_FIELD(HTTP_FILTER_PREPROC_HEADERS, AddHeader,         8,   4,    16,   8),
    ABI_FIELD(HTTP_FILTER_PREPROC_HEADERS, HttpStatus,       12,   4,    24,   4),
    ABI_FIELD(HTTP_FILTER_PREPROC_HEADERS, dwReserved,       16,   4,    28,   4),

    ABI_SIZE(HTTP_FILTER_AUTHENT,                                 16,         32),
    ABI_FIELD(HTTP_FILTER_AUTHENT, pszUser,                   0,   4,     0,   8),
    ABI_FIELD(HTTP_FILTER_AUTHENT, cbUserBuff,                4,   4,     8,   4),
    ABI_FIELD(HTTP_FILTER_AUTHENT, pszPassword,               8,   4,    16,   8),
    ABI_FIELD(HTTP_FILTER_AUTHENT, cbPasswordBuff,           12,   4,    24,   4),

    ABI_SIZE(HTTP_FILTER_URL_MAP,                                 12,         24),
    ABI_FIELD(HTTP_FILTER_URL_MAP, pszURL,                    0,   4,     0,   8),
    ABI_FIELD(HTTP_FILTER_URL_MAP, pszPhysicalPath,           4,   4,     8,   8),
    ABI_FIELD(HTTP_FILTER_URL_MAP, cbPathBuff,                8,   4,    16,   4),

    ABI_SIZE(HTTP_FILTER_URL_MAP_EX,                              28,         40),
    ABI_FIELD(HTTP_FILTER_URL_MAP_EX, pszURL,                 0,   4,     0,   8),
    ABI_FIELD(HTTP_FILTER_URL_MAP_EX, pszPhysicalPath,        4,   4,     8,   8),
    ABI_FIELD(HTTP_FILTER_URL_MAP_EX, cbPathBuff,             8,   4,    16,   4),
    ABI_FIELD(HTTP_FILTER_URL_MAP_EX, dwFlags,               12,   4,    20,   4),
    ABI_FIELD(HTTP_FILTER_URL_MAP_EX, cchMatchingPath,       16,   4,    24,   4),
    ABI_FIELD(HTTP_FILTER_URL_MAP_EX, cchMatchingURL,        20,   4,    28,   4),
    ABI_FIELD(HTTP_FILTER_URL_MAP_EX, pszScriptMapEntry,     24,   4,    32,   8),

    ABI_SIZE(HTTP_FILTER_ACCESS_DENIED,                           12,         24),
    ABI_FIELD(HTTP_FILTER_ACCESS_DENIED, pszURL,              0,   4,     0,   8),
    ABI_FIELD(HTTP_FILTER_ACCESS_DENIED, pszPhysicalPath,     4,   4,     8,   8),
    ABI_FIELD(HTTP_FILTER_ACCESS_DENIED, dwReason,            8,   4,    16,   4),

    ABI_SIZE(HTTP_FILTER_LOG,                                     44,         72),
    ABI_FIELD(HTTP_FILTER_LOG, pszClientHostName,             0,   4,     0,   8),
    ABI_FIELD(HTTP_FILTER_LOG, pszClientUserName,             4,   4,     8,   8),
    ABI_FIELD(HTTP_FILTER_LOG, pszServerName,                 8,   4,    16,   8),
    ABI_FIELD(HTTP_FILTER_LOG, pszOperation,                 12,   4,    24,   8),
    ABI_FIELD(HTTP_FILTER_LOG, pszTarget,                    16,   4,    32,   8),
    ABI_FIELD(HTTP_FILTER_LOG, pszParameters,                20,   4,    40,   8),
    ABI_FIELD(HTTP_FILTER_LOG, dwHttpStatus,                 24,   4,    48,   4),
    ABI_FIELD(HTTP_FILTER_LOG, dwWin32Status,                28,   4,    52,   4),
    ABI_FIELD(HTTP_FILTER_LOG, dwBytesSent,                  32,   4,    56,   4),
    ABI_FIELD(HTTP_FILTER_LOG, dwBytesRecvd,                 36,   4,    60,   4),
    ABI_FIELD(HTTP_FILTER_LOG, msTimeForProcessing,          40,   4,    64,   4),

    ABI_SIZE(HTTP_FILTER_AUTH_COMPLETE_INFO,                      28,         48),
    ABI_FIELD(HTTP_FILTER_AUTH_COMPLETE_INFO, GetHeader,      0,   4,     0,   8),
    ABI_FIELD(HTTP_FILTER_AUTH_COMPLETE_INFO, SetHeader,      4,   4,     8,   8),
    ABI_FIELD(HTTP_FILTER_AUTH_COMPLETE_INFO, AddHeader,      8,   4,    16,   8),
    ABI_FIELD(HTTP_FILTER_AUTH_COMPLETE_INFO, GetUserToken,  12,   4,    24,   8),
    ABI_FIELD(HTTP_FILTER_AUTH_COMPLETE_INFO, HttpStatus,    16,   4,    32,   4),
    ABI_FIELD(HTTP_FILTER_AUTH_COMPLETE_INFO, fResetAuth,    20,   4,    36,   4),
    ABI_FIELD(HTTP_FILTER_AUTH_COMPLETE_INFO, dwReserved,    24,   4,    40,   4),

    /* Why: SEND_RESPONSE hands filters the PREPROC_HEADERS structure itself; filters
     * cast between the two names, so it must stay a typedef, not a look-alike. */
    { "HTTP_FILTER_SEND_RESPONSE", "same type as HTTP_FILTER_PREPROC_HEADERS",
      _Generic((HTTP_FILTER_SEND_RESPONSE *)0, HTTP_FILTER_PREPROC_HEADERS *: 1, default: 0),
      1, 1 },

    /* ---- Filter constants (docs/isapi-reference.md, "Constants") ------------------ */
    ABI_VALUE(HTTP_FILTER_REVISION,         0x00060000),
    ABI_VALUE(SF_NOTIFY_SECURE_PORT,        0x00000001),
    ABI_VALUE(SF_NOTIFY_NONSECURE_PORT,     0x00000002),
    ABI_VALUE(SF_NOTIFY_SEND_RESPONSE,      0x00000040),
    ABI_VALUE(SF_NOTIFY_END_OF_REQUEST,     0x00000080),
    ABI_VALUE(SF_NOTIFY_END_OF_NET_SESSION, 0x00000100),
    ABI_VALUE(SF_NOTIFY_LOG,                0x00000200),
    ABI_VALUE(SF_NOTIFY_SEND_RAW_DATA,      0x00000400),
    ABI_VALUE(SF_NOTIFY_ACCESS_DENIED,      0x00000800),
    ABI_VALUE(SF_NOTIFY_URL_MAP,            0x00001000),
    ABI_VALUE(SF_NOTIFY_AUTHENTICATION,     0x00002000),
    ABI_VALUE(SF_NOTIFY_PREPROC_HEADERS,    0x00004000),
    ABI_VALUE(SF_NOTIFY_READ_RAW_DATA,      0x00008000),
    ABI_VALUE(SF_NOTIFY_ORDER_LOW,          0x00020000),
    ABI_VALUE(SF_NOTIFY_ORDER_MEDIUM,       0x00040000),
    ABI_VALUE(SF_NOTIFY_ORDER_HIGH,         0x00080000),
    ABI_VALUE(SF_NOTIFY_ORDER_DEFAULT,      0x00020000),
    ABI_VALUE(SF_NOTIFY_ORDER_MASK,         0x000E0000),
    ABI_VALUE(SF_NOTIFY_AUTH_COMPLETE,      0x04000000),
    /* Why: the base is 0x08000000 (the header spells it 0x8000000), not 0x80000000. */
    ABI_VALUE(SF_STATUS_REQ_FINISHED,             0x08000000),
    ABI_VALUE(SF_STATUS_REQ_FINISHED_KEEP_CONN,   0x08000001),
    ABI_VALUE(SF_STATUS_REQ_NEXT_NOTIFICATION,    0x08000002),
    ABI_VALUE(SF_STATUS_REQ_HANDLED_NOTIFICATION, 0x08000003),
    ABI_VALUE(SF_STATUS_REQ_ERROR,                0x08000004),
    ABI_VALUE(SF_STATUS_REQ_READ_NEXT,            0x08000005),
    ABI_VALUE(SF_REQ_SEND_RESPONSE_HEADER,  0),
    ABI_VALUE(SF_REQ_ADD_HEADERS_ON_DENIAL, 1),
    ABI_VALUE(SF_REQ_SET_NEXT_READ_SIZE,    2),
    ABI_VALUE(SF_REQ_SET_PROXY_INFO,        3),
    ABI_VALUE(SF_REQ_GET_CONNID,            4),
    ABI_VALUE(SF_REQ_SET_CERTIFICATE_INFO,  5),
    ABI_VALUE(SF_REQ_GET_PROPERTY,          6),
    ABI_VALUE(SF_REQ_NORMALIZE_URL,         7),
    ABI_VALUE(SF_REQ_DISABLE_NOTIFICATIONS, 8),
    ABI_VALUE(SF_MAX_USERNAME,        257),
    ABI_VALUE(SF_MAX_PASSWORD,        257),
    ABI_VALUE(SF_MAX_AUTH_TYPE,       33),
    ABI_VALUE(SF_MAX_FILTER_DESC_LEN, 257),
    ABI_VALUE(SF_DENIED_LOGON,       0x00000001),
    ABI_VALUE(SF_DENIED_RESOURCE,    0x00000002),
    ABI_VALUE(SF_DENIED_FILTER,      0x00000004),
    ABI_VALUE(SF_DENIED_APPLICATION, 0x00000008),
    ABI_VALUE(SF_DENIED_BY_CONFIG,   0x00010000),
    ABI_VALUE(SF_PROPERTY_SSL_CTXT,        0),
    ABI_VALUE(SF_PROPERTY_INSTANCE_NUM_ID, 1),
    ABI_VALUE(HSE_TERM_ADVISORY_UNLOAD, 1),
    ABI_VALUE(HSE_TERM_MUST_UNLOAD,     2),
    ABI_VALUE(HSE_IO_SYNC,              1),
    ABI_VALUE(ERROR_INVALID_FUNCTION,    1),
    ABI_VALUE(ERROR_FILE_NOT_FOUND,      2),
    ABI_VALUE(ERROR_PATH_NOT_FOUND,      3),
    ABI_VALUE(ERROR_ACCESS_DENIED,       5),
    ABI_VALUE(ERROR_NOT_ENOUGH_MEMORY,   8),
    ABI_VALUE(ERROR_NOT_SUPPORTED,       50),
    ABI_VALUE(ERROR_INVALID_PARAMETER,   87),
    ABI_VALUE(ERROR_INSUFFICIENT_BUFFER, 122),
    ABI_VALUE(ERROR_NO_DATA,             232),
    ABI_VALUE(ERROR_MORE_DATA,           234),
    ABI_VALUE(ERROR_INVALID_INDEX,       1413),

    /* ---- Extension structures (httpext.h) ----------------------------------------- */
    /* docs/isapi-reference.md describes no extension structure. The rows were measured
     * against the mingw-w64 10.0.0 headers by compiling offsetof/sizeof probes with
     * i686-w64-mingw32-gcc and x86_64-w64-mingw32-gcc 12.2; the win32/win64 builds of this
     * test re-check them. */
    /*                                                               x86         x64 */
    /* structure, field                                            off size    off size */
    ABI_SIZE(EXTENSION_CONTROL_BLOCK,                                   144,        192),
    ABI_FIELD(EXTENSION_CONTROL_BLOCK, cbSize,                       0,   4,     0,   4),
    ABI_FIELD(EXTENSION_CONTROL_BLOCK, dwVersion,                    4,   4,     4,   4),
    ABI_FIELD(EXTENSION_CONTROL_BLOCK, ConnID,                       8,   4,     8,   8),
    ABI_FIELD(EXTENSION_CONTROL_BLOCK, dwHttpStatusCode,            12,   4,    16,   4),
    ABI_FIELD(EXTENSION_CONTROL_BLOCK, lpszLogData,                 16,  80,    20,  80),
    ABI_FIELD(EXTENSION_CONTROL_BLOCK, lpszMethod,                  96,   4,   104,   8),
    ABI_FIELD(EXTENSION_CONTROL_BLOCK, lpszQueryString,            100,   4,   112,   8),
    ABI_FIELD(EXTENSION_CONTROL_BLOCK, lpszPathInfo,               104,   4,   120,   8),
    ABI_FIELD(EXTENSION_CONTROL_BLOCK, lpszPathTranslated,         108,   4,   128,   8),
    ABI_FIELD(EXTENSION_CONTROL_BLOCK, cbTotalBytes,               112,   4,   136,   4),
    ABI_FIELD(EXTENSION_CONTROL_BLOCK, cbAvailable,                116,   4,   140,   4),
    ABI_FIELD(EXTENSION_CONTROL_BLOCK, lpbData,                    120,   4,   144,   8),
    ABI_FIELD(EXTENSION_CONTROL_BLOCK, lpszContentType,            124,   4,   152,   8),
    ABI_FIELD(EXTENSION_CONTROL_BLOCK, GetServerVariable,          128,   4,   160,   8),
    ABI_FIELD(EXTENSION_CONTROL_BLOCK, WriteClient,                132,   4,   168,   8),
    ABI_FIELD(EXTENSION_CONTROL_BLOCK, ReadClient,                 136,   4,   176,   8),
    ABI_FIELD(EXTENSION_CONTROL_BLOCK, ServerSupportFunction,      140,   4,   184,   8),

    ABI_SIZE(HSE_VERSION_INFO,                                          260,        260),
    ABI_FIELD(HSE_VERSION_INFO, dwExtensionVersion,                  0,   4,     0,   4),
    ABI_FIELD(HSE_VERSION_INFO, lpszExtensionDesc,                   4, 256,     4, 256),

    ABI_SIZE(HSE_URL_MAPEX_INFO,                                        280,        280),
    ABI_FIELD(HSE_URL_MAPEX_INFO, lpszPath,                          0, 260,     0, 260),
    ABI_FIELD(HSE_URL_MAPEX_INFO, dwFlags,                         260,   4,   260,   4),
    ABI_FIELD(HSE_URL_MAPEX_INFO, cchMatchingPath,                 264,   4,   264,   4),
    ABI_FIELD(HSE_URL_MAPEX_INFO, cchMatchingURL,                  268,   4,   268,   4),
    ABI_FIELD(HSE_URL_MAPEX_INFO, dwReserved1,                     272,   4,   272,   4),
    ABI_FIELD(HSE_URL_MAPEX_INFO, dwReserved2,                     276,   4,   276,   4),

    ABI_SIZE(HSE_UNICODE_URL_MAPEX_INFO,                                532,        532),
    ABI_FIELD(HSE_UNICODE_URL_MAPEX_INFO, lpszPath,                  0, 520,     0, 520),
    ABI_FIELD(HSE_UNICODE_URL_MAPEX_INFO, dwFlags,                 520,   4,   520,   4),
    ABI_FIELD(HSE_UNICODE_URL_MAPEX_INFO, cchMatchingPath,         524,   4,   524,   4),
    ABI_FIELD(HSE_UNICODE_URL_MAPEX_INFO, cchMatchingURL,          528,   4,   528,   4),

    ABI_SIZE(HSE_TF_INFO,                                                44,         72),
    ABI_FIELD(HSE_TF_INFO, pfnHseIO,                                 0,   4,     0,   8),
    ABI_FIELD(HSE_TF_INFO, pContext,                                 4,   4,     8,   8),
    ABI_FIELD(HSE_TF_INFO, hFile,                                    8,   4,    16,   8),
    ABI_FIELD(HSE_TF_INFO, pszStatusCode,                           12,   4,    24,   8),
    ABI_FIELD(HSE_TF_INFO, BytesToWrite,                            16,   4,    32,   4),
    ABI_FIELD(HSE_TF_INFO, Offset,                                  20,   4,    36,   4),
    ABI_FIELD(HSE_TF_INFO, pHead,                                   24,   4,    40,   8),
    ABI_FIELD(HSE_TF_INFO, HeadLength,                              28,   4,    48,   4),
    ABI_FIELD(HSE_TF_INFO, pTail,                                   32,   4,    56,   8),
    ABI_FIELD(HSE_TF_INFO, TailLength,                              36,   4,    64,   4),
    ABI_FIELD(HSE_TF_INFO, dwFlags,                                 40,   4,    68,   4),

    ABI_SIZE(HSE_SEND_HEADER_EX_INFO,                                    20,         32),
    ABI_FIELD(HSE_SEND_HEADER_EX_INFO, pszStatus,                    0,   4,     0,   8),
    ABI_FIELD(HSE_SEND_HEADER_EX_INFO, pszHeader,                    4,   4,     8,   8),
    ABI_FIELD(HSE_SEND_HEADER_EX_INFO, cchStatus,                    8,   4,    16,   4),
    ABI_FIELD(HSE_SEND_HEADER_EX_INFO, cchHeader,                   12,   4,    20,   4),
    ABI_FIELD(HSE_SEND_HEADER_EX_INFO, fKeepConn,                   16,   4,    24,   4),

    ABI_SIZE(HSE_EXEC_URL_USER_INFO,                                     12,         24),
    ABI_FIELD(HSE_EXEC_URL_USER_INFO, hImpersonationToken,           0,   4,     0,   8),
    ABI_FIELD(HSE_EXEC_URL_USER_INFO, pszCustomUserName,             4,   4,     8,   8),
    ABI_FIELD(HSE_EXEC_URL_USER_INFO, pszCustomAuthType,             8,   4,    16,   8),

    ABI_SIZE(HSE_EXEC_URL_ENTITY_INFO,                                    8,         16),
    ABI_FIELD(HSE_EXEC_URL_ENTITY_INFO, cbAvailable,                 0,   4,     0,   4),
    ABI_FIELD(HSE_EXEC_URL_ENTITY_INFO, lpbData,                     4,   4,     8,   8),

    ABI_SIZE(HSE_EXEC_URL_STATUS,                                         8,          8),
    ABI_FIELD(HSE_EXEC_URL_STATUS, uHttpStatusCode,                  0,   2,     0,   2),
    ABI_FIELD(HSE_EXEC_URL_STATUS, uHttpSubStatus,                   2,   2,     2,   2),
    ABI_FIELD(HSE_EXEC_URL_STATUS, dwWin32Error,                     4,   4,     4,   4),

    ABI_SIZE(HSE_EXEC_URL_INFO,                                          24,         48),
    ABI_FIELD(HSE_EXEC_URL_INFO, pszUrl,                             0,   4,     0,   8),
    ABI_FIELD(HSE_EXEC_URL_INFO, pszMethod,                          4,   4,     8,   8),
    ABI_FIELD(HSE_EXEC_URL_INFO, pszChildHeaders,                    8,   4,    16,   8),
    ABI_FIELD(HSE_EXEC_URL_INFO, pUserInfo,                         12,   4,    24,   8),
    ABI_FIELD(HSE_EXEC_URL_INFO, pEntity,                           16,   4,    32,   8),
    ABI_FIELD(HSE_EXEC_URL_INFO, dwExecUrlFlags,                    20,   4,    40,   4),

    ABI_SIZE(HSE_EXEC_UNICODE_URL_USER_INFO,                             12,         24),
    ABI_FIELD(HSE_EXEC_UNICODE_URL_USER_INFO, hImpersonationToken,   0,   4,     0,   8),
    ABI_FIELD(HSE_EXEC_UNICODE_URL_USER_INFO, pszCustomUserName,     4,   4,     8,   8),
    ABI_FIELD(HSE_EXEC_UNICODE_URL_USER_INFO, pszCustomAuthType,     8,   4,    16,   8),

    ABI_SIZE(HSE_EXEC_UNICODE_URL_INFO,                                  24,         48),
    ABI_FIELD(HSE_EXEC_UNICODE_URL_INFO, pszUrl,                     0,   4,     0,   8),
    ABI_FIELD(HSE_EXEC_UNICODE_URL_INFO, pszMethod,                  4,   4,     8,   8),
    ABI_FIELD(HSE_EXEC_UNICODE_URL_INFO, pszChildHeaders,            8,   4,    16,   8),
    ABI_FIELD(HSE_EXEC_UNICODE_URL_INFO, pUserInfo,                 12,   4,    24,   8),
    ABI_FIELD(HSE_EXEC_UNICODE_URL_INFO, pEntity,                   16,   4,    32,   8),
    ABI_FIELD(HSE_EXEC_UNICODE_URL_INFO, dwExecUrlFlags,            20,   4,    40,   4),

    ABI_SIZE(HSE_CUSTOM_ERROR_INFO,                                      12,         16),
    ABI_FIELD(HSE_CUSTOM_ERROR_INFO, pszStatus,                      0,   4,     0,   8),
    ABI_FIELD(HSE_CUSTOM_ERROR_INFO, uHttpSubError,                  4,   2,     8,   2),
    ABI_FIELD(HSE_CUSTOM_ERROR_INFO, fAsync,                         8,   4,    12,   4),

    ABI_SIZE(HSE_VECTOR_ELEMENT,                                         24,         32),
    ABI_FIELD(HSE_VECTOR_ELEMENT, ElementType,                       0,   4,     0,   4),
    ABI_FIELD(HSE_VECTOR_ELEMENT, pvContext,                         4,   4,     8,   8),
    ABI_FIELD(HSE_VECTOR_ELEMENT, cbOffset,                          8,   8,    16,   8),
    ABI_FIELD(HSE_VECTOR_ELEMENT, cbSize,                           16,   8,    24,   8),

    ABI_SIZE(HSE_RESPONSE_VECTOR,                                        20,         40),
    ABI_FIELD(HSE_RESPONSE_VECTOR, dwFlags,                          0,   4,     0,   4),
    ABI_FIELD(HSE_RESPONSE_VECTOR, pszStatus,                        4,   4,     8,   8),
    ABI_FIELD(HSE_RESPONSE_VECTOR, pszHeaders,                       8,   4,    16,   8),
    ABI_FIELD(HSE_RESPONSE_VECTOR, nElementCount,                   12,   4,    24,   4),
    ABI_FIELD(HSE_RESPONSE_VECTOR, lpElementArray,                  16,   4,    32,   8),

    ABI_SIZE(HSE_TRACE_INFO,                                             28,         28),
    ABI_FIELD(HSE_TRACE_INFO, fTraceRequest,                         0,   4,     0,   4),
    ABI_FIELD(HSE_TRACE_INFO, TraceContextId,                        4,  16,     4,  16),
    ABI_FIELD(HSE_TRACE_INFO, dwReserved1,                          20,   4,    20,   4),
    ABI_FIELD(HSE_TRACE_INFO, dwReserved2,                          24,   4,    24,   4),

    /* ---- Extension constants (httpext.h, measured like the structures above) ------ */
    ABI_VALUE(HSE_VERSION_MAJOR,        6),
    ABI_VALUE(HSE_VERSION_MINOR,        0),
    ABI_VALUE(HSE_VERSION,              0x00060000),
    ABI_VALUE(HSE_LOG_BUFFER_LEN,       80),
    ABI_VALUE(HSE_MAX_EXT_DLL_NAME_LEN, 256),
    ABI_VALUE(MAX_PATH,                 260),
    ABI_VALUE(HSE_STATUS_SUCCESS,               1),
    ABI_VALUE(HSE_STATUS_SUCCESS_AND_KEEP_CONN, 2),
    ABI_VALUE(HSE_STATUS_PENDING,               3),
    ABI_VALUE(HSE_STATUS_ERROR,                 4),
    ABI_VALUE(HSE_REQ_BASE,                                           0),
    ABI_VALUE(HSE_REQ_SEND_URL_REDIRECT_RESP,                         1),
    ABI_VALUE(HSE_REQ_SEND_URL,                                       2),
    ABI_VALUE(HSE_REQ_SEND_RESPONSE_HEADER,                           3),
    ABI_VALUE(HSE_REQ_DONE_WITH_SESSION,                              4),
    ABI_VALUE(HSE_REQ_END_RESERVED,                                   1000),
    ABI_VALUE(HSE_REQ_MAP_URL_TO_PATH,                                1001),
    ABI_VALUE(HSE_REQ_GET_SSPI_INFO,                                  1002),
    ABI_VALUE(HSE_APPEND_LOG_PARAMETER,                               1003),
    ABI_VALUE(HSE_REQ_IO_COMPLETION,                                  1005),
    ABI_VALUE(HSE_REQ_TRANSMIT_FILE,                                  1006),
    ABI_VALUE(HSE_REQ_REFRESH_ISAPI_ACL,                              1007),
    ABI_VALUE(HSE_REQ_IS_KEEP_CONN,                                   1008),
    ABI_VALUE(HSE_REQ_ASYNC_READ_CLIENT,                              1010),
    ABI_VALUE(HSE_REQ_GET_IMPERSONATION_TOKEN,                        1011),
    ABI_VALUE(HSE_REQ_MAP_URL_TO_PATH_EX,                             1012),
    ABI_VALUE(HSE_REQ_ABORTIVE_CLOSE,                                 1014),
    ABI_VALUE(HSE_REQ_GET_CERT_INFO_EX,                               1015),
    ABI_VALUE(HSE_REQ_SEND_RESPONSE_HEADER_EX,                        1016),
    ABI_VALUE(HSE_REQ_CLOSE_CONNECTION,                               1017),
    ABI_VALUE(HSE_REQ_IS_CONNECTED,                                   1018),
    ABI_VALUE(HSE_REQ_MAP_UNICODE_URL_TO_PATH,                        1023),
    ABI_VALUE(HSE_REQ_MAP_UNICODE_URL_TO_PATH_EX,                     1024),
    ABI_VALUE(HSE_REQ_EXEC_UNICODE_URL,                               1025),
    ABI_VALUE(HSE_REQ_EXEC_URL,                                       1026),
    ABI_VALUE(HSE_REQ_GET_EXEC_URL_STATUS,                            1027),
    ABI_VALUE(HSE_REQ_SEND_CUSTOM_ERROR,                              1028),
    ABI_VALUE(HSE_REQ_IS_IN_PROCESS,                                  1030),
    ABI_VALUE(HSE_REQ_REPORT_UNHEALTHY,                               1032),
    ABI_VALUE(HSE_REQ_NORMALIZE_URL,                                  1033),
    ABI_VALUE(HSE_REQ_VECTOR_SEND,                                    1037),
    ABI_VALUE(HSE_REQ_GET_ANONYMOUS_TOKEN,                            1038),
    ABI_VALUE(HSE_REQ_GET_CACHE_INVALIDATION_CALLBACK,                1040),
    ABI_VALUE(HSE_REQ_GET_UNICODE_ANONYMOUS_TOKEN,                    1041),
    ABI_VALUE(HSE_REQ_GET_TRACE_INFO,                                 1042),
    ABI_VALUE(HSE_REQ_SET_FLUSH_FLAG,                                 1043),
    ABI_VALUE(HSE_REQ_GET_TRACE_INFO_EX,                              1044),
    ABI_VALUE(HSE_REQ_RAISE_TRACE_EVENT,                              1045),
    ABI_VALUE(HSE_REQ_GET_CONFIG_OBJECT,                              1046),
    ABI_VALUE(HSE_REQ_GET_WORKER_PROCESS_SETTINGS,                    1047),
    ABI_VALUE(HSE_REQ_GET_PROTOCOL_MANAGER_CUSTOM_INTERFACE_CALLBACK, 1048),
    ABI_VALUE(HSE_REQ_CANCEL_IO,                                      1049),
    ABI_VALUE(HSE_REQ_GET_CHANNEL_BINDING_TOKEN,                      1050),
    ABI_VALUE(HSE_IO_ASYNC,                  0x00000002),
    ABI_VALUE(HSE_IO_DISCONNECT_AFTER_SEND,  0x00000004),
    ABI_VALUE(HSE_IO_SEND_HEADERS,           0x00000008),
    ABI_VALUE(HSE_IO_NODELAY,                0x00001000),
    ABI_VALUE(HSE_IO_FINAL_SEND,             0x00000010),
    ABI_VALUE(HSE_IO_CACHE_RESPONSE,         0x00000020),
    ABI_VALUE(HSE_IO_TRY_SKIP_CUSTOM_ERRORS, 0x00000040),
    ABI_VALUE(HSE_URL_FLAGS_READ,         0x00000001),
    ABI_VALUE(HSE_URL_FLAGS_WRITE,        0x00000002),
    ABI_VALUE(HSE_URL_FLAGS_EXECUTE,      0x00000004),
    ABI_VALUE(HSE_URL_FLAGS_SSL,          0x00000008),
    ABI_VALUE(HSE_URL_FLAGS_DONT_CACHE,   0x00000010),
    ABI_VALUE(HSE_URL_FLAGS_NEGO_CERT,    0x00000020),
    ABI_VALUE(HSE_URL_FLAGS_REQUIRE_CERT, 0x00000040),
    ABI_VALUE(HSE_URL_FLAGS_MAP_CERT,     0x00000080),
    ABI_VALUE(HSE_URL_FLAGS_SSL128,       0x00000100),
    ABI_VALUE(HSE_URL_FLAGS_SCRIPT,       0x00000200),
    ABI_VALUE(HSE_URL_FLAGS_MASK,         0x000003FF),
    ABI_VALUE(HSE_EXEC_URL_NO_HEADERS,                  0x00000002),
    ABI_VALUE(HSE_EXEC_URL_IGNORE_CURRENT_INTERCEPTOR,  0x00000004),
    ABI_VALUE(HSE_EXEC_URL_IGNORE_VALIDATION_AND_RANGE, 0x00000010),
    ABI_VALUE(HSE_EXEC_URL_DISABLE_CUSTOM_ERROR,        0x00000020),
    ABI_VALUE(HSE_EXEC_URL_SSI_CMD,                     0x00000040),
    ABI_VALUE(HSE_EXEC_URL_HTTP_CACHE_ELIGIBLE,         0x00000080),
    ABI_VALUE(HSE_VECTOR_ELEMENT_TYPE_MEMORY_BUFFER, 0),
    ABI_VALUE(HSE_VECTOR_ELEMENT_TYPE_FILE_HANDLE,   1),
    ABI_VALUE(HSE_APP_FLAG_IN_PROCESS,   0),
    ABI_VALUE(HSE_APP_FLAG_ISOLATED_OOP, 1),
    ABI_VALUE(HSE_APP_FLAG_POOLED_OOP,   2),
};

int main(void)
{
    const char *column = ABI_IS_X64 ? "x64" : "x86";
    size_t i, passed = 0, failed = 0;

    for (i = 0; i < sizeof(abi_rows) / sizeof(abi_rows[0]); i++) {
        const struct abi_row *r = &abi_rows[i];
        long long expected = ABI_PICK(r->x86, r->x64);

        if (r->actual == expected) {
            passed++;
            continue;
        }
        failed++;
        if (strcmp(r->measure, "value") == 0)
            printf("%s: value %lld (0x%llx), expected %lld (0x%llx) (%s)\n", r->name,
                   r->actual, (unsigned long long)r->actual, expected,
                   (unsigned long long)expected, column);
        else
            printf("%s: %s %lld, expected %lld (%s)\n", r->name, r->measure, r->actual,
                   expected, column);
    }
    printf("abi: %zu passed, %zu failed\n", passed, failed);
    return failed ? 1 : 0;
}
