/*
 * windows.h (shim) - the Win32 API that ISAPI filters and the isapihost engine use, for
 * POSIX systems, where libshim implements it (shim/posix/). On Windows the real headers are
 * used instead; this file never reaches a mingw build.
 *
 * Types follow the Windows LLP64 model on LP64 POSIX: DWORD, LONG and ULONG are 32-bit
 * (uint32_t/int32_t, never `long`), pointers and *_PTR types are 64-bit. So every ISAPI
 * structure has exactly its Win64 layout (checked by tests/abi).
 *
 * WINAPI and CALLBACK expand to nothing: filters are compiled from source for the native
 * build, so filter and host share the platform's own calling convention (see
 * shim/README.md). Everything declared here is a real function in libshim, listed in
 * shim/exports.txt; nothing is a macro over a POSIX name.
 *
 * The shim is ANSI only: the generic (TCHAR) names - TCHAR, LPTSTR, TEXT(), wsprintf,
 * OutputDebugString, LoadLibrary, ... - are the A variants, as in Windows' headers without
 * UNICODE. A source compiled with UNICODE or _UNICODE would expect the W functions, which
 * libshim does not have, so that stops the build.
 */
#ifndef SHIM_WINDOWS_H
#define SHIM_WINDOWS_H

#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>
#include <winerror.h>

#if defined(UNICODE) || defined(_UNICODE)
#error "shim windows.h: libshim has the ANSI (A) functions only; build this source without UNICODE and _UNICODE"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- calling conventions and linkage ---------------------------------------------- */
#define WINAPI
#define CALLBACK
#define APIENTRY
#define WINAPIV
#define NTAPI
#define WINBASEAPI
#define DECLSPEC_IMPORT
#define __stdcall
#define __cdecl
#define __declspec(x) __attribute__((visibility("default")))

/* ---- scalar types ----------------------------------------------------------------- */
typedef uint8_t   BYTE, *PBYTE, *LPBYTE;
typedef uint16_t  WORD, *PWORD, *LPWORD;
typedef uint32_t  DWORD, *PDWORD, *LPDWORD;
typedef int32_t   BOOL, *PBOOL, *LPBOOL;
typedef BOOL      WINBOOL;
typedef int32_t   LONG, *PLONG, *LPLONG;
typedef uint32_t  ULONG, *PULONG;
typedef int64_t   LONGLONG, *PLONGLONG;
typedef uint64_t  ULONGLONG, *PULONGLONG, DWORD64, *PDWORD64;
typedef int32_t   INT, *PINT, *LPINT;
typedef uint32_t  UINT, *PUINT;
typedef int16_t   SHORT;
typedef uint16_t  USHORT;
typedef char      CHAR, *PCHAR, *LPCH;
typedef unsigned char UCHAR, *PUCHAR;
typedef uint16_t  WCHAR, *PWCHAR;     /* UTF-16 code unit, as on Windows */
typedef float     FLOAT;
typedef intptr_t  INT_PTR, LONG_PTR, SSIZE_T;
typedef uintptr_t UINT_PTR, ULONG_PTR, DWORD_PTR, SIZE_T, *PULONG_PTR, *PSIZE_T;
typedef int32_t   HRESULT;
typedef LONG      LSTATUS;
typedef DWORD     REGSAM;
typedef WORD      LANGID;
#define VOID void
typedef void     *PVOID, *LPVOID;
typedef const void *LPCVOID;
typedef CHAR     *LPSTR, *PSTR;
typedef const CHAR *LPCSTR, *PCSTR;
typedef WCHAR    *LPWSTR, *PWSTR;
typedef const WCHAR *LPCWSTR, *PCWSTR;
typedef void     *HANDLE, **PHANDLE, **LPHANDLE;
typedef struct shim_module *HMODULE, *HINSTANCE;
typedef struct shim_hkey   *HKEY, **PHKEY;
typedef struct shim_heap   *HHEAP_IMPL;
typedef HANDLE    HLOCAL, HGLOBAL;
typedef HANDLE    HWND;
typedef INT_PTR (WINAPI *FARPROC)(void);
typedef PVOID     PSID;

/* Generic text types (winnt.h without UNICODE). */
#define CONST const
#ifndef _TCHAR_DEFINED
#define _TCHAR_DEFINED
typedef char TCHAR, *PTCHAR;
typedef unsigned char TBYTE, *PTBYTE;
#endif
typedef LPSTR  PTSTR, LPTSTR, LPTCH, PTCH;
typedef LPCSTR PCTSTR, LPCTSTR;
#define __TEXT(quote) quote
#define TEXT(quote) __TEXT(quote)

#ifndef TRUE
#define TRUE  1
#endif
#ifndef FALSE
#define FALSE 0
#endif
#ifndef NULL
#define NULL ((void *)0)
#endif

#define MAX_PATH 260
#define INFINITE 0xFFFFFFFFu
#define INVALID_HANDLE_VALUE ((HANDLE)(LONG_PTR)-1)

#define MAKEWORD(lo, hi) ((WORD)(((BYTE)((DWORD_PTR)(lo) & 0xff)) | ((WORD)((BYTE)((DWORD_PTR)(hi) & 0xff))) << 8))
#define MAKELONG(lo, hi) ((LONG)(((WORD)((DWORD_PTR)(lo) & 0xffff)) | ((DWORD)((WORD)((DWORD_PTR)(hi) & 0xffff))) << 16))
#define LOWORD(l) ((WORD)((DWORD_PTR)(l) & 0xffff))
#define HIWORD(l) ((WORD)((DWORD_PTR)(l) >> 16))
#define LOBYTE(w) ((BYTE)((DWORD_PTR)(w) & 0xff))
#define HIBYTE(w) ((BYTE)((DWORD_PTR)(w) >> 8))
#define UNREFERENCED_PARAMETER(p) ((void)(p))

/* ---- structures ------------------------------------------------------------------- */
typedef union _LARGE_INTEGER {
    struct { DWORD LowPart; LONG HighPart; } u;
    struct { DWORD LowPart; LONG HighPart; };
    LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

typedef union _ULARGE_INTEGER {
    struct { DWORD LowPart; DWORD HighPart; } u;
    struct { DWORD LowPart; DWORD HighPart; };
    ULONGLONG QuadPart;
} ULARGE_INTEGER, *PULARGE_INTEGER;

typedef struct _FILETIME { DWORD dwLowDateTime; DWORD dwHighDateTime; } FILETIME, *PFILETIME, *LPFILETIME;

typedef struct _SYSTEMTIME {
    WORD wYear, wMonth, wDayOfWeek, wDay, wHour, wMinute, wSecond, wMilliseconds;
} SYSTEMTIME, *PSYSTEMTIME, *LPSYSTEMTIME;

typedef struct _SECURITY_ATTRIBUTES {
    DWORD nLength; LPVOID lpSecurityDescriptor; BOOL bInheritHandle;
} SECURITY_ATTRIBUTES, *PSECURITY_ATTRIBUTES, *LPSECURITY_ATTRIBUTES;

/* Windows' RTL_CRITICAL_SECTION layout (40 bytes on Win64), so filters that embed one in
 * their own structures keep their size. The shim keeps its recursive mutex behind
 * LockSemaphore. */
typedef struct _RTL_CRITICAL_SECTION {
    PVOID DebugInfo;
    LONG LockCount;
    LONG RecursionCount;
    HANDLE OwningThread;
    HANDLE LockSemaphore;
    ULONG_PTR SpinCount;
} CRITICAL_SECTION, *PCRITICAL_SECTION, *LPCRITICAL_SECTION, RTL_CRITICAL_SECTION;

/* Windows' OVERLAPPED layout. The shim completes every file operation before it returns,
 * so Internal and InternalHigh hold the final status and byte count at once. */
typedef struct _OVERLAPPED {
    ULONG_PTR Internal;
    ULONG_PTR InternalHigh;
    union {
        struct { DWORD Offset; DWORD OffsetHigh; };
        PVOID Pointer;
    };
    HANDLE hEvent;
} OVERLAPPED, *LPOVERLAPPED;

typedef DWORD (WINAPI *PTHREAD_START_ROUTINE)(LPVOID);
typedef PTHREAD_START_ROUTINE LPTHREAD_START_ROUTINE;

/* ---- constants -------------------------------------------------------------------- */
#define DLL_PROCESS_DETACH 0
#define DLL_PROCESS_ATTACH 1
#define DLL_THREAD_ATTACH  2
#define DLL_THREAD_DETACH  3

#define WAIT_OBJECT_0   0x00000000u
#define WAIT_ABANDONED  0x00000080u
#define WAIT_FAILED     0xFFFFFFFFu
#define STILL_ACTIVE    259
/* WAIT_TIMEOUT (258) comes from winerror.h, as on Windows */

#define GENERIC_READ              0x80000000u
#define GENERIC_WRITE             0x40000000u
#define FILE_SHARE_READ           0x00000001
#define FILE_SHARE_WRITE          0x00000002
#define FILE_SHARE_DELETE         0x00000004
#define CREATE_NEW                1
#define CREATE_ALWAYS             2
#define OPEN_EXISTING             3
#define OPEN_ALWAYS               4
#define TRUNCATE_EXISTING         5
#define FILE_ATTRIBUTE_READONLY   0x00000001
#define FILE_ATTRIBUTE_NORMAL     0x00000080
#define FILE_FLAG_OVERLAPPED      0x40000000
#define FILE_FLAG_SEQUENTIAL_SCAN 0x08000000
#define FILE_FLAG_RANDOM_ACCESS   0x10000000
#define FILE_BEGIN                0
#define FILE_CURRENT              1
#define FILE_END                  2
#define INVALID_SET_FILE_POINTER  ((DWORD)-1)
#define INVALID_FILE_SIZE         ((DWORD)0xFFFFFFFF)

#define FORMAT_MESSAGE_ALLOCATE_BUFFER 0x00000100
#define FORMAT_MESSAGE_IGNORE_INSERTS  0x00000200
#define FORMAT_MESSAGE_FROM_STRING     0x00000400
#define FORMAT_MESSAGE_FROM_HMODULE    0x00000800
#define FORMAT_MESSAGE_FROM_SYSTEM     0x00001000
#define FORMAT_MESSAGE_ARGUMENT_ARRAY  0x00002000
#define FORMAT_MESSAGE_MAX_WIDTH_MASK  0x000000FF
#define LANG_NEUTRAL    0x00
#define LANG_ENGLISH    0x09
#define SUBLANG_NEUTRAL 0x00
#define SUBLANG_DEFAULT 0x01
#define MAKELANGID(p, s) ((((WORD)(s)) << 10) | (WORD)(p))
#define PRIMARYLANGID(l) ((WORD)(l) & 0x3ff)
#define SUBLANGID(l)     ((WORD)(l) >> 10)

#define DONT_RESOLVE_DLL_REFERENCES   0x00000001
#define LOAD_LIBRARY_AS_DATAFILE      0x00000002
#define LOAD_WITH_ALTERED_SEARCH_PATH 0x00000008

#define LMEM_FIXED    0x0000
#define LMEM_MOVEABLE 0x0002
#define LMEM_ZEROINIT 0x0040
#define LPTR          (LMEM_FIXED | LMEM_ZEROINIT)
#define GMEM_FIXED    0x0000
#define GMEM_MOVEABLE 0x0002
#define GMEM_ZEROINIT 0x0040
#define GPTR          (GMEM_FIXED | GMEM_ZEROINIT)
#define HEAP_NO_SERIALIZE         0x00000001
#define HEAP_GENERATE_EXCEPTIONS  0x00000004
#define HEAP_ZERO_MEMORY          0x00000008
#define HEAP_REALLOC_IN_PLACE_ONLY 0x00000010

#define CP_ACP   0
#define CP_OEMCP 1
#define CP_UTF8  65001
#define MB_ERR_INVALID_CHARS 0x00000008
#define WC_ERR_INVALID_CHARS 0x00000080

#define HKEY_CLASSES_ROOT   ((HKEY)(ULONG_PTR)0x80000000u)
#define HKEY_CURRENT_USER   ((HKEY)(ULONG_PTR)0x80000001u)
#define HKEY_LOCAL_MACHINE  ((HKEY)(ULONG_PTR)0x80000002u)
#define HKEY_USERS          ((HKEY)(ULONG_PTR)0x80000003u)
#define KEY_QUERY_VALUE     0x0001
#define KEY_ENUMERATE_SUB_KEYS 0x0008
#define KEY_READ            0x20019
#define KEY_WOW64_64KEY     0x0100
#define KEY_WOW64_32KEY     0x0200
#define REG_NONE      0
#define REG_SZ        1
#define REG_EXPAND_SZ 2
#define REG_BINARY    3
#define REG_DWORD     4
#define REG_MULTI_SZ  7
#define REG_QWORD     11

#define TLS_OUT_OF_INDEXES 0xFFFFFFFFu

/* ReportEventA's wType (winnt.h) */
#define EVENTLOG_SUCCESS          0x0000
#define EVENTLOG_ERROR_TYPE       0x0001
#define EVENTLOG_WARNING_TYPE     0x0002
#define EVENTLOG_INFORMATION_TYPE 0x0004
#define EVENTLOG_AUDIT_SUCCESS    0x0008
#define EVENTLOG_AUDIT_FAILURE    0x0010

/* ---- kernel32: errors ------------------------------------------------------------- */
DWORD WINAPI GetLastError(void);
void  WINAPI SetLastError(DWORD dwErrCode);
DWORD WINAPI FormatMessageA(DWORD dwFlags, LPCVOID lpSource, DWORD dwMessageId,
                            DWORD dwLanguageId, LPSTR lpBuffer, DWORD nSize, va_list *Arguments);

/* ---- kernel32: modules ------------------------------------------------------------ */
HMODULE WINAPI LoadLibraryA(LPCSTR lpLibFileName);
HMODULE WINAPI LoadLibraryExA(LPCSTR lpLibFileName, HANDLE hFile, DWORD dwFlags);
FARPROC WINAPI GetProcAddress(HMODULE hModule, LPCSTR lpProcName);
BOOL    WINAPI FreeLibrary(HMODULE hLibModule);
DWORD   WINAPI GetModuleFileNameA(HMODULE hModule, LPSTR lpFilename, DWORD nSize);
HMODULE WINAPI GetModuleHandleA(LPCSTR lpModuleName);
BOOL    WINAPI DisableThreadLibraryCalls(HMODULE hLibModule);

/* ---- kernel32: synchronisation and threads ---------------------------------------- */
void WINAPI InitializeCriticalSection(LPCRITICAL_SECTION lpCriticalSection);
BOOL WINAPI InitializeCriticalSectionAndSpinCount(LPCRITICAL_SECTION lpCriticalSection, DWORD dwSpinCount);
void WINAPI EnterCriticalSection(LPCRITICAL_SECTION lpCriticalSection);
BOOL WINAPI TryEnterCriticalSection(LPCRITICAL_SECTION lpCriticalSection);
void WINAPI LeaveCriticalSection(LPCRITICAL_SECTION lpCriticalSection);
void WINAPI DeleteCriticalSection(LPCRITICAL_SECTION lpCriticalSection);

LONG  WINAPI InterlockedIncrement(LONG volatile *Addend);
LONG  WINAPI InterlockedDecrement(LONG volatile *Addend);
LONG  WINAPI InterlockedExchange(LONG volatile *Target, LONG Value);
LONG  WINAPI InterlockedExchangeAdd(LONG volatile *Addend, LONG Value);
LONG  WINAPI InterlockedCompareExchange(LONG volatile *Destination, LONG Exchange, LONG Comperand);
PVOID WINAPI InterlockedExchangePointer(PVOID volatile *Target, PVOID Value);
PVOID WINAPI InterlockedCompareExchangePointer(PVOID volatile *Destination, PVOID Exchange, PVOID Comperand);

HANDLE WINAPI CreateEventA(LPSECURITY_ATTRIBUTES lpEventAttributes, BOOL bManualReset,
                           BOOL bInitialState, LPCSTR lpName);
BOOL   WINAPI SetEvent(HANDLE hEvent);
BOOL   WINAPI ResetEvent(HANDLE hEvent);
HANDLE WINAPI CreateMutexA(LPSECURITY_ATTRIBUTES lpMutexAttributes, BOOL bInitialOwner, LPCSTR lpName);
BOOL   WINAPI ReleaseMutex(HANDLE hMutex);
HANDLE WINAPI CreateThread(LPSECURITY_ATTRIBUTES lpThreadAttributes, SIZE_T dwStackSize,
                           LPTHREAD_START_ROUTINE lpStartAddress, LPVOID lpParameter,
                           DWORD dwCreationFlags, LPDWORD lpThreadId);
BOOL   WINAPI GetExitCodeThread(HANDLE hThread, LPDWORD lpExitCode);
DWORD  WINAPI WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds);
BOOL   WINAPI CloseHandle(HANDLE hObject);
DWORD  WINAPI GetCurrentThreadId(void);
DWORD  WINAPI GetCurrentProcessId(void);
void   WINAPI Sleep(DWORD dwMilliseconds);

DWORD  WINAPI TlsAlloc(void);
LPVOID WINAPI TlsGetValue(DWORD dwTlsIndex);
BOOL   WINAPI TlsSetValue(DWORD dwTlsIndex, LPVOID lpTlsValue);
BOOL   WINAPI TlsFree(DWORD dwTlsIndex);

/* ---- kernel32: files ------------------------------------------------------------- */
/* A file handle is a handle of the shim's table (handles.c) that owns a file descriptor.
 * Every operation completes before it returns, also on a handle opened with
 * FILE_FLAG_OVERLAPPED (then ReadFile/WriteFile answer TRUE, fill the OVERLAPPED and set
 * its event). Sharing modes and security attributes are not enforced. */
HANDLE WINAPI CreateFileA(LPCSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                          LPSECURITY_ATTRIBUTES lpSecurityAttributes, DWORD dwCreationDisposition,
                          DWORD dwFlagsAndAttributes, HANDLE hTemplateFile);
HANDLE WINAPI CreateFileW(LPCWSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                          LPSECURITY_ATTRIBUTES lpSecurityAttributes, DWORD dwCreationDisposition,
                          DWORD dwFlagsAndAttributes, HANDLE hTemplateFile);
BOOL  WINAPI ReadFile(HANDLE hFile, LPVOID lpBuffer, DWORD nNumberOfBytesToRead,
                      LPDWORD lpNumberOfBytesRead, LPOVERLAPPED lpOverlapped);
BOOL  WINAPI WriteFile(HANDLE hFile, LPCVOID lpBuffer, DWORD nNumberOfBytesToWrite,
                       LPDWORD lpNumberOfBytesWritten, LPOVERLAPPED lpOverlapped);
DWORD WINAPI SetFilePointer(HANDLE hFile, LONG lDistanceToMove, PLONG lpDistanceToMoveHigh,
                            DWORD dwMoveMethod);
BOOL  WINAPI SetFilePointerEx(HANDLE hFile, LARGE_INTEGER liDistanceToMove,
                              PLARGE_INTEGER lpNewFilePointer, DWORD dwMoveMethod);
DWORD WINAPI GetFileSize(HANDLE hFile, LPDWORD lpFileSizeHigh);
BOOL  WINAPI GetFileSizeEx(HANDLE hFile, PLARGE_INTEGER lpFileSize);
BOOL  WINAPI GetOverlappedResult(HANDLE hFile, LPOVERLAPPED lpOverlapped,
                                 LPDWORD lpNumberOfBytesTransferred, BOOL bWait);
BOOL  WINAPI DeleteFileA(LPCSTR lpFileName);

/* ---- kernel32: time --------------------------------------------------------------- */
DWORD     WINAPI GetTickCount(void);
ULONGLONG WINAPI GetTickCount64(void);
BOOL      WINAPI QueryPerformanceCounter(LARGE_INTEGER *lpPerformanceCount);
BOOL      WINAPI QueryPerformanceFrequency(LARGE_INTEGER *lpFrequency);
void      WINAPI GetSystemTime(LPSYSTEMTIME lpSystemTime);
void      WINAPI GetLocalTime(LPSYSTEMTIME lpSystemTime);
void      WINAPI GetSystemTimeAsFileTime(LPFILETIME lpSystemTimeAsFileTime);

/* ---- kernel32: strings ------------------------------------------------------------ */
int   WINAPI lstrlenA(LPCSTR lpString);
LPSTR WINAPI lstrcpyA(LPSTR lpString1, LPCSTR lpString2);
LPSTR WINAPI lstrcpynA(LPSTR lpString1, LPCSTR lpString2, int iMaxLength);
LPSTR WINAPI lstrcatA(LPSTR lpString1, LPCSTR lpString2);
int   WINAPI lstrcmpA(LPCSTR lpString1, LPCSTR lpString2);
int   WINAPI lstrcmpiA(LPCSTR lpString1, LPCSTR lpString2);
int   WINAPI MultiByteToWideChar(UINT CodePage, DWORD dwFlags, LPCSTR lpMultiByteStr,
                                 int cbMultiByte, LPWSTR lpWideCharStr, int cchWideChar);
int   WINAPI WideCharToMultiByte(UINT CodePage, DWORD dwFlags, LPCWSTR lpWideCharStr,
                                 int cchWideChar, LPSTR lpMultiByteStr, int cbMultiByte,
                                 LPCSTR lpDefaultChar, LPBOOL lpUsedDefaultChar);
DWORD WINAPI GetEnvironmentVariableA(LPCSTR lpName, LPSTR lpBuffer, DWORD nSize);

/* user32's printf: Windows format rules (an `l` size prefix means 32 bits, no floating
 * point), output cut at 1024 characters. */
int WINAPIV wsprintfA(LPSTR lpOut, LPCSTR lpFmt, ...);
int WINAPI  wvsprintfA(LPSTR lpOut, LPCSTR lpFmt, va_list arglist);

/* No debugger is attached: the text goes to the sink the host set with ShimSetDebugSink
 * (isapihost: its error log, at debug level), else to stderr; at most
 * SHIM_DEBUG_STRING_MAX bytes of each call, on one line (see shim.h). */
void WINAPI OutputDebugStringA(LPCSTR lpOutputString);

/* ---- kernel32: memory ------------------------------------------------------------- */
HANDLE WINAPI GetProcessHeap(void);
HANDLE WINAPI HeapCreate(DWORD flOptions, SIZE_T dwInitialSize, SIZE_T dwMaximumSize);
BOOL   WINAPI HeapDestroy(HANDLE hHeap);
LPVOID WINAPI HeapAlloc(HANDLE hHeap, DWORD dwFlags, SIZE_T dwBytes);
LPVOID WINAPI HeapReAlloc(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem, SIZE_T dwBytes);
BOOL   WINAPI HeapFree(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem);
SIZE_T WINAPI HeapSize(HANDLE hHeap, DWORD dwFlags, LPCVOID lpMem);
HLOCAL WINAPI LocalAlloc(UINT uFlags, SIZE_T uBytes);
HLOCAL WINAPI LocalFree(HLOCAL hMem);
HGLOBAL WINAPI GlobalAlloc(UINT uFlags, SIZE_T dwBytes);
HGLOBAL WINAPI GlobalFree(HGLOBAL hMem);

/* ---- kernel32: profiles (.ini files) ---------------------------------------------- */
DWORD WINAPI GetPrivateProfileStringA(LPCSTR lpAppName, LPCSTR lpKeyName, LPCSTR lpDefault,
                                      LPSTR lpReturnedString, DWORD nSize, LPCSTR lpFileName);
UINT  WINAPI GetPrivateProfileIntA(LPCSTR lpAppName, LPCSTR lpKeyName, INT nDefault,
                                   LPCSTR lpFileName);

/* ---- advapi32: registry (served from the file named by ShimSetRegistryFile) ------- */
LSTATUS WINAPI RegOpenKeyExA(HKEY hKey, LPCSTR lpSubKey, DWORD ulOptions, REGSAM samDesired,
                             PHKEY phkResult);
LSTATUS WINAPI RegQueryValueExA(HKEY hKey, LPCSTR lpValueName, LPDWORD lpReserved,
                                LPDWORD lpType, LPBYTE lpData, LPDWORD lpcbData);
LSTATUS WINAPI RegCloseKey(HKEY hKey);

/* ---- advapi32: event log, served by syslog(3) ------------------------------------- */
/* RegisterEventSourceA(NULL or "", source) opens a source whose name is the syslog
 * ident; ReportEventA logs "event <id>: <strings joined by spaces>" at the priority for
 * wType (ERROR: LOG_ERR, WARNING: LOG_WARNING, INFORMATION and SUCCESS: LOG_INFO,
 * AUDIT_SUCCESS: LOG_INFO, AUDIT_FAILURE: LOG_NOTICE), facility LOG_USER; lpUserSid and
 * the raw data are not logged. DeregisterEventSource closes the source. */
HANDLE WINAPI RegisterEventSourceA(LPCSTR lpUNCServerName, LPCSTR lpSourceName);
BOOL   WINAPI ReportEventA(HANDLE hEventLog, WORD wType, WORD wCategory, DWORD dwEventID,
                           PSID lpUserSid, WORD wNumStrings, DWORD dwDataSize,
                           LPCSTR *lpStrings, LPVOID lpRawData);
BOOL   WINAPI DeregisterEventSource(HANDLE hEventLog);

/* ---- generic (TCHAR) names: the A functions, as Windows' headers map them without
 * UNICODE (winbase.h, winuser.h, winreg.h, debugapi.h) ------------------------------- */
#define FormatMessage           FormatMessageA
#define LoadLibrary             LoadLibraryA
#define LoadLibraryEx           LoadLibraryExA
#define GetModuleFileName       GetModuleFileNameA
#define GetModuleHandle         GetModuleHandleA
#define CreateEvent             CreateEventA
#define CreateMutex             CreateMutexA
#define CreateFile              CreateFileA
#define DeleteFile              DeleteFileA
#define lstrlen                 lstrlenA
#define lstrcpy                 lstrcpyA
#define lstrcpyn                lstrcpynA
#define lstrcat                 lstrcatA
#define lstrcmp                 lstrcmpA
#define lstrcmpi                lstrcmpiA
#define GetEnvironmentVariable  GetEnvironmentVariableA
#define wsprintf                wsprintfA
#define wvsprintf               wvsprintfA
#define OutputDebugString       OutputDebugStringA
#define GetPrivateProfileString GetPrivateProfileStringA
#define GetPrivateProfileInt    GetPrivateProfileIntA
#define RegOpenKeyEx            RegOpenKeyExA
#define RegQueryValueEx         RegQueryValueExA
#define RegisterEventSource     RegisterEventSourceA
#define ReportEvent             ReportEventA

/* ---- the Microsoft C runtime names Windows filter sources use ---------------------- */
int _stricmp(const char *a, const char *b);
int _strnicmp(const char *a, const char *b, size_t n);
int _snprintf(char *buf, size_t count, const char *fmt, ...);
int _vsnprintf(char *buf, size_t count, const char *fmt, va_list ap);

#ifdef __cplusplus
}
#endif

#endif /* SHIM_WINDOWS_H */
