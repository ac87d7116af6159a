/*
 * shim_files.c - conformance tests for kernel32 files: CreateFileA/W, ReadFile and
 * WriteFile (plain and with an OVERLAPPED offset, on handles opened with and without
 * FILE_FLAG_OVERLAPPED), SetFilePointer(Ex), GetFileSize(Ex), GetOverlappedResult,
 * CloseHandle and DeleteFileA. The file is created in the current folder.
 */
#include "shimtest.h"

static char g_path[64];

static void make_name(void)
{
    _snprintf(g_path, sizeof g_path - 1, "shim_files_%lu.tmp", (unsigned long)GetCurrentProcessId());
    g_path[sizeof g_path - 1] = '\0';
}

static void test_create_and_write(void)
{
    HANDLE h;
    DWORD n = 0;
    BOOL r;

    SetLastError(0xdeadbeef);
    h = CreateFileA(g_path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_NEW,
                    FILE_ATTRIBUTE_NORMAL, NULL);
    ok(h != INVALID_HANDLE_VALUE, "CreateFileA CREATE_NEW: %lu\n", (unsigned long)GetLastError());
    if (h == INVALID_HANDLE_VALUE)
        return;
    SetLastError(0xdeadbeef);
    r = WriteFile(h, "0123456789abcdefghij", 20, &n, NULL);
    ok(r && n == 20, "WriteFile: %d, %lu bytes, error %lu\n", r, (unsigned long)n,
       (unsigned long)GetLastError());
    ok(CloseHandle(h), "CloseHandle: %lu\n", (unsigned long)GetLastError());

    SetLastError(0xdeadbeef);
    h = CreateFileA(g_path, GENERIC_READ, FILE_SHARE_READ, NULL, CREATE_NEW, 0, NULL);
    ok(h == INVALID_HANDLE_VALUE && GetLastError() == ERROR_FILE_EXISTS,
       "CREATE_NEW on an existing file: %p, error %lu\n", h, (unsigned long)GetLastError());

    SetLastError(0xdeadbeef);
    h = CreateFileA(g_path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_ALWAYS, 0, NULL);
    ok(h != INVALID_HANDLE_VALUE && GetLastError() == ERROR_ALREADY_EXISTS,
       "OPEN_ALWAYS on an existing file: %p, error %lu\n", h, (unsigned long)GetLastError());
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);

    SetLastError(0xdeadbeef);
    h = CreateFileA("no_such_folder_x/none.tmp", GENERIC_READ, FILE_SHARE_READ, NULL,
                    OPEN_EXISTING, 0, NULL);
    ok(h == INVALID_HANDLE_VALUE && GetLastError() == ERROR_PATH_NOT_FOUND,
       "a missing folder: %p, error %lu\n", h, (unsigned long)GetLastError());
    SetLastError(0xdeadbeef);
    h = CreateFileA("no_such_file_x.tmp", GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                    0, NULL);
    ok(h == INVALID_HANDLE_VALUE && GetLastError() == ERROR_FILE_NOT_FOUND,
       "a missing file: %p, error %lu\n", h, (unsigned long)GetLastError());
    SetLastError(0xdeadbeef);
    h = CreateFileA(".", GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    ok(h == INVALID_HANDLE_VALUE && GetLastError() == ERROR_ACCESS_DENIED,
       "a folder without FILE_FLAG_BACKUP_SEMANTICS: %p, error %lu\n", h,
       (unsigned long)GetLastError());
    SetLastError(0xdeadbeef);
    h = CreateFileA(g_path, GENERIC_READ, FILE_SHARE_READ, NULL, 0, 0, NULL);
    ok(h == INVALID_HANDLE_VALUE && GetLastError() == ERROR_INVALID_PARAMETER,
       "disposition 0: %p, error %lu\n", h, (unsigned long)GetLastError());
}

static void test_read_and_seek(void)
{
    HANDLE h;
    char buf[64];
    DWORD n, hi;
    BOOL r;
    LARGE_INTEGER pos, size;

    h = CreateFileA(g_path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                    FILE_FLAG_SEQUENTIAL_SCAN, NULL);
    ok(h != INVALID_HANDLE_VALUE, "CreateFileA: %lu\n", (unsigned long)GetLastError());
    if (h == INVALID_HANDLE_VALUE)
        return;

    SetLastError(0xdeadbeef);
    r = GetFileSizeEx(h, &size);
    ok(r && size.QuadPart == 20, "GetFileSizeEx: %d, %lu\n", r, (unsigned long)size.QuadPart);
    hi = 7;
    n = GetFileSize(h, &hi);
    ok(n == 20 && hi == 0, "GetFileSize: %lu, high %lu\n", (unsigned long)n, (unsigned long)hi);

    n = 0;
    r = ReadFile(h, buf, 4, &n, NULL);
    ok(r && n == 4 && memcmp(buf, "0123", 4) == 0, "ReadFile: %d, %lu bytes\n", r, (unsigned long)n);
    r = ReadFile(h, buf, 3, &n, NULL);
    ok(r && n == 3 && memcmp(buf, "456", 3) == 0, "the file pointer moved: %d, %.3s\n", r, buf);

    pos.QuadPart = -1;
    r = SetFilePointerEx(h, pos, &pos, FILE_CURRENT);
    ok(r && pos.QuadPart == 6, "SetFilePointerEx FILE_CURRENT -1: %d, %lu\n", r,
       (unsigned long)pos.QuadPart);
    r = ReadFile(h, buf, 2, &n, NULL);
    ok(r && n == 2 && memcmp(buf, "67", 2) == 0, "read after the seek: %.2s\n", buf);

    n = SetFilePointer(h, -5, NULL, FILE_END);
    ok(n == 15, "SetFilePointer FILE_END -5: %lu\n", (unsigned long)n);
    r = ReadFile(h, buf, sizeof buf, &n, NULL);
    ok(r && n == 5 && memcmp(buf, "fghij", 5) == 0, "a read to the end: %d, %lu\n", r,
       (unsigned long)n);
    SetLastError(0xdeadbeef);
    r = ReadFile(h, buf, sizeof buf, &n, NULL);
    ok(r && n == 0, "a plain read at the end: TRUE, 0 bytes: %d, %lu, error %lu\n", r,
       (unsigned long)n, (unsigned long)GetLastError());

    SetLastError(0xdeadbeef);
    pos.QuadPart = -100;
    r = SetFilePointerEx(h, pos, NULL, FILE_BEGIN);
    ok(!r && GetLastError() == ERROR_NEGATIVE_SEEK, "a negative position: %d, error %lu\n", r,
       (unsigned long)GetLastError());
    pos.QuadPart = 0;
    r = SetFilePointerEx(h, pos, &pos, FILE_CURRENT);
    ok(r && pos.QuadPart == 20, "the pointer stayed: %lu\n", (unsigned long)pos.QuadPart);

    pos.QuadPart = 100;
    r = SetFilePointerEx(h, pos, &pos, FILE_BEGIN);
    ok(r && pos.QuadPart == 100, "a position past the end is allowed: %d\n", r);
    r = ReadFile(h, buf, sizeof buf, &n, NULL);
    ok(r && n == 0, "a plain read past the end: TRUE, 0 bytes: %d, %lu\n", r, (unsigned long)n);

    /* an OVERLAPPED on a handle opened without FILE_FLAG_OVERLAPPED: a synchronous read at
     * its offset, which moves the file pointer */
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    ov.Offset = 10;
    r = ReadFile(h, buf, 3, &n, &ov);
    ok(r && n == 3 && memcmp(buf, "abc", 3) == 0, "ReadFile at an OVERLAPPED offset: %d, %.3s\n",
       r, buf);
    ok(ov.InternalHigh == 3, "InternalHigh: %lu\n", (unsigned long)ov.InternalHigh);
    pos.QuadPart = 0;
    SetFilePointerEx(h, pos, &pos, FILE_CURRENT);
    ok(pos.QuadPart == 13, "the pointer follows the OVERLAPPED read: %lu\n",
       (unsigned long)pos.QuadPart);
    memset(&ov, 0, sizeof ov);
    ov.Offset = 20;
    SetLastError(0xdeadbeef);
    r = ReadFile(h, buf, 3, &n, &ov);
    ok(!r && GetLastError() == ERROR_HANDLE_EOF && n == 0,
       "an OVERLAPPED read at the end: FALSE, ERROR_HANDLE_EOF: %d, error %lu\n", r,
       (unsigned long)GetLastError());

    ok(CloseHandle(h), "CloseHandle: %lu\n", (unsigned long)GetLastError());
    SetLastError(0xdeadbeef);
    r = ReadFile(h, buf, 1, &n, NULL);
    ok(!r && GetLastError() == ERROR_INVALID_HANDLE, "ReadFile on a closed handle: %d, %lu\n", r,
       (unsigned long)GetLastError());
    SetLastError(0xdeadbeef);
    ok(!CloseHandle(h) && GetLastError() == ERROR_INVALID_HANDLE, "a second CloseHandle: %lu\n",
       (unsigned long)GetLastError());
}

/* The way IIS wants files for TransmitFile: FILE_FLAG_OVERLAPPED, every read with an
 * OVERLAPPED and its event, the result from GetOverlappedResult. */
static void test_overlapped_handle(void)
{
    WCHAR wide[64];
    HANDLE h, ev;
    OVERLAPPED ov;
    char buf[16];
    DWORD n = 0;
    BOOL r;

    MultiByteToWideChar(CP_ACP, 0, g_path, -1, wide, 64);
    h = CreateFileW(wide, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                    FILE_FLAG_OVERLAPPED | FILE_FLAG_SEQUENTIAL_SCAN, NULL);
    ok(h != INVALID_HANDLE_VALUE, "CreateFileW: %lu\n", (unsigned long)GetLastError());
    if (h == INVALID_HANDLE_VALUE)
        return;
    ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    memset(&ov, 0, sizeof ov);
    ov.Offset = 5;
    ov.hEvent = ev;
    r = ReadFile(h, buf, 4, NULL, &ov);
    ok(r || GetLastError() == ERROR_IO_PENDING, "an overlapped ReadFile: %d, error %lu\n", r,
       (unsigned long)GetLastError());
    r = GetOverlappedResult(h, &ov, &n, TRUE);
    ok(r && n == 4 && memcmp(buf, "5678", 4) == 0, "GetOverlappedResult: %d, %lu, %.4s\n", r,
       (unsigned long)n, buf);
    ok(WaitForSingleObject(ev, 0) == WAIT_OBJECT_0, "the OVERLAPPED's event is set\n");
    CloseHandle(ev);
    CloseHandle(h);
}

static void test_delete(void)
{
    SetLastError(0xdeadbeef);
    ok(DeleteFileA(g_path), "DeleteFileA: %lu\n", (unsigned long)GetLastError());
    SetLastError(0xdeadbeef);
    ok(!DeleteFileA(g_path) && GetLastError() == ERROR_FILE_NOT_FOUND,
       "DeleteFileA of a missing file: %lu\n", (unsigned long)GetLastError());
}

int main(void)
{
    make_name();
    DeleteFileA(g_path);
    test_create_and_write();
    test_read_and_seek();
    test_overlapped_handle();
    test_delete();
    return shimtest_done("shim_files");
}
