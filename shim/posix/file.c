/*
 * file.c - kernel32 files: CreateFileA/W, ReadFile, WriteFile, SetFilePointer(Ex),
 * GetFileSize(Ex), GetOverlappedResult, DeleteFileA. CloseHandle is the generic one
 * (handles.c).
 *
 * A file handle is an entry of the shim's handle table that owns a descriptor
 * (shim__file_handle_new); every call here takes a reference on it for its duration, so a
 * concurrent CloseHandle cannot close the descriptor under a read. The file pointer is the
 * descriptor's offset. There is no overlapped I/O: ReadFile and WriteFile with an
 * OVERLAPPED read or write at its offset (pread/pwrite) and complete before they return,
 * also on a handle opened with FILE_FLAG_OVERLAPPED, which Windows allows too (a call may
 * complete at once); the OVERLAPPED then holds the final status and count, and its event is
 * set, so callers written for real overlapped I/O find the result where they look for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim_private.h"

/* NTSTATUS values Windows leaves in OVERLAPPED.Internal. */
#define SHIM_STATUS_SUCCESS     0x00000000u
#define SHIM_STATUS_END_OF_FILE 0xC0000011u

static int shim__open_flags(DWORD access, DWORD disposition, int *oflags)
{
    int mode;

    if ((access & GENERIC_READ) && (access & GENERIC_WRITE))
        mode = O_RDWR;
    else if (access & GENERIC_WRITE)
        mode = O_WRONLY;
    else
        mode = O_RDONLY;   /* GENERIC_READ, or 0 (attributes only): a descriptor is needed */
    switch (disposition) {
    case CREATE_NEW: mode |= O_CREAT | O_EXCL; break;
    case CREATE_ALWAYS: mode |= O_CREAT | O_TRUNC; break;
    case OPEN_EXISTING: break;
    case OPEN_ALWAYS: mode |= O_CREAT; break;
    case TRUNCATE_EXISTING:
        if (!(access & GENERIC_WRITE))
            return EINVAL;
        mode |= O_TRUNC;
        break;
    default:
        return EINVAL;
    }
    if ((mode & (O_CREAT | O_TRUNC)) && (mode & O_ACCMODE) == O_RDONLY)
        mode = (mode & ~O_ACCMODE) | O_RDWR;   /* creating needs write access here */
    *oflags = mode | O_CLOEXEC;
    return 0;
}

/* Whether the folder part of `path` exists ("" and "name" are in the current folder). */
static int shim__parent_exists(const char *path)
{
    const char *slash = strrchr(path, '/');
    struct stat st;

    if (!slash)
        return 1;
    if (slash == path)
        return 1;
    size_t n = (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (!dir)
        return 1;
    memcpy(dir, path, n);
    dir[n] = '\0';
    int found = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    free(dir);
    return found;
}

/*** CreateFileA (shim kernel32) ***/
HANDLE WINAPI CreateFileA(LPCSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                          LPSECURITY_ATTRIBUTES lpSecurityAttributes, DWORD dwCreationDisposition,
                          DWORD dwFlagsAndAttributes, HANDLE hTemplateFile)
{
    struct stat st;
    int oflags, fd, err, existed;

    (void)dwShareMode;
    (void)lpSecurityAttributes;
    if (hTemplateFile)
        SHIM_FIXME("template files are ignored");
    if (!lpFileName || !*lpFileName) {
        SetLastError(lpFileName ? ERROR_PATH_NOT_FOUND : ERROR_INVALID_PARAMETER);
        return INVALID_HANDLE_VALUE;
    }
    err = shim__open_flags(dwDesiredAccess, dwCreationDisposition, &oflags);
    if (err) {
        shim_set_errno(err);
        return INVALID_HANDLE_VALUE;
    }
    existed = stat(lpFileName, &st) == 0;
    do
        fd = open(lpFileName, oflags, 0666);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        /* Why: CREATE_NEW on an existing file is ERROR_FILE_EXISTS on Windows, not
         * ERROR_ALREADY_EXISTS (which the success of *_ALWAYS reports). */
        if (errno == EEXIST)
            SetLastError(ERROR_FILE_EXISTS);
        else if (errno == ENOENT && !shim__parent_exists(lpFileName))
            SetLastError(ERROR_PATH_NOT_FOUND);   /* Windows tells a missing folder apart */
        else
            shim_set_errno(errno);
        return INVALID_HANDLE_VALUE;
    }
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        /* Why: a folder opens only with FILE_FLAG_BACKUP_SEMANTICS on Windows; without it
         * CreateFile fails with ERROR_ACCESS_DENIED. */
        close(fd);
        SetLastError(ERROR_ACCESS_DENIED);
        return INVALID_HANDLE_VALUE;
    }
    HANDLE h = shim__file_handle_new(fd, dwFlagsAndAttributes);
    if (h == INVALID_HANDLE_VALUE)
        return h;
    /* Why: CREATE_ALWAYS and OPEN_ALWAYS tell an existing file by ERROR_ALREADY_EXISTS;
     * every other success leaves ERROR_SUCCESS. */
    if (existed && (dwCreationDisposition == CREATE_ALWAYS || dwCreationDisposition == OPEN_ALWAYS))
        SetLastError(ERROR_ALREADY_EXISTS);
    return h;
}

/*** CreateFileW (shim kernel32) ***/
HANDLE WINAPI CreateFileW(LPCWSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                          LPSECURITY_ATTRIBUTES lpSecurityAttributes, DWORD dwCreationDisposition,
                          DWORD dwFlagsAndAttributes, HANDLE hTemplateFile)
{
    if (!lpFileName) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return INVALID_HANDLE_VALUE;
    }
    int n = WideCharToMultiByte(CP_UTF8, 0, lpFileName, -1, NULL, 0, NULL, NULL);
    if (n <= 0)
        return INVALID_HANDLE_VALUE;   /* the conversion set the last error */
    char *name = malloc((size_t)n);
    if (!name) {
        shim_set_errno(ENOMEM);
        return INVALID_HANDLE_VALUE;
    }
    WideCharToMultiByte(CP_UTF8, 0, lpFileName, -1, name, n, NULL, NULL);
    HANDLE h = CreateFileA(name, dwDesiredAccess, dwShareMode, lpSecurityAttributes,
                           dwCreationDisposition, dwFlagsAndAttributes, hTemplateFile);
    DWORD err = GetLastError();
    free(name);
    SetLastError(err);
    return h;
}

/* Reads or writes once, at the OVERLAPPED's offset when one is given, else at the file
 * pointer. Returns a status; *done is the byte count. */
static int shim__file_io(HANDLE h, void *buf, DWORD n, DWORD *done, LPOVERLAPPED ov, int writing)
{
    int fd;
    DWORD flags;
    void *ref;
    ssize_t r;
    int err = shim__file_acquire(h, &fd, &flags, &ref);

    *done = 0;
    if (err)
        return err;
    off_t at = ov ? (off_t)(((ULONGLONG)ov->OffsetHigh << 32) | ov->Offset) : 0;
    do {
        if (ov)
            r = writing ? pwrite(fd, buf, n, at) : pread(fd, buf, n, at);
        else
            r = writing ? write(fd, buf, n) : read(fd, buf, n);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        err = errno == EISDIR ? EACCES : errno;
    } else {
        *done = (DWORD)r;
        /* Why: on a handle opened without FILE_FLAG_OVERLAPPED, Windows moves the file
         * pointer past an OVERLAPPED transfer as it does past a plain one. */
        if (ov && !(flags & FILE_FLAG_OVERLAPPED))
            lseek(fd, at + r, SEEK_SET);
    }
    shim__file_release(ref);
    return err;
}

/* Fills the OVERLAPPED as a completed operation and sets its event. */
static void shim__overlapped_done(LPOVERLAPPED ov, DWORD status, DWORD bytes)
{
    ov->Internal = status;
    ov->InternalHigh = bytes;
    if (ov->hEvent)
        SetEvent(ov->hEvent);
}

/*** ReadFile (shim kernel32) ***/
BOOL WINAPI ReadFile(HANDLE hFile, LPVOID lpBuffer, DWORD nNumberOfBytesToRead,
                     LPDWORD lpNumberOfBytesRead, LPOVERLAPPED lpOverlapped)
{
    DWORD done;
    int err;

    if ((!lpBuffer && nNumberOfBytesToRead) || (!lpNumberOfBytesRead && !lpOverlapped)) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    err = shim__file_io(hFile, lpBuffer, nNumberOfBytesToRead, &done, lpOverlapped, 0);
    if (lpNumberOfBytesRead)
        *lpNumberOfBytesRead = done;
    if (err)
        return shim_set_errno(err);
    if (lpOverlapped) {
        /* Why: a read at an offset at or past the end fails with ERROR_HANDLE_EOF, while a
         * plain read at the end succeeds with 0 bytes (ReadFile, "Synchronization and File
         * Position"). */
        int eof = done == 0 && nNumberOfBytesToRead > 0;
        shim__overlapped_done(lpOverlapped, eof ? SHIM_STATUS_END_OF_FILE : SHIM_STATUS_SUCCESS,
                              done);
        if (eof)
            return shim_set_errno(SHIM_E_HANDLE_EOF);
    }
    return TRUE;
}

/*** WriteFile (shim kernel32) ***/
BOOL WINAPI WriteFile(HANDLE hFile, LPCVOID lpBuffer, DWORD nNumberOfBytesToWrite,
                      LPDWORD lpNumberOfBytesWritten, LPOVERLAPPED lpOverlapped)
{
    DWORD done;
    int err;

    if ((!lpBuffer && nNumberOfBytesToWrite) || (!lpNumberOfBytesWritten && !lpOverlapped)) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    err = shim__file_io(hFile, (void *)lpBuffer, nNumberOfBytesToWrite, &done, lpOverlapped, 1);
    if (lpNumberOfBytesWritten)
        *lpNumberOfBytesWritten = done;
    if (err)
        return shim_set_errno(err);
    if (lpOverlapped)
        shim__overlapped_done(lpOverlapped, SHIM_STATUS_SUCCESS, done);
    return TRUE;
}

/*** GetOverlappedResult (shim kernel32) ***/
BOOL WINAPI GetOverlappedResult(HANDLE hFile, LPOVERLAPPED lpOverlapped,
                                LPDWORD lpNumberOfBytesTransferred, BOOL bWait)
{
    (void)hFile;
    (void)bWait;   /* every operation has completed already */
    if (!lpOverlapped || !lpNumberOfBytesTransferred) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    *lpNumberOfBytesTransferred = (DWORD)lpOverlapped->InternalHigh;
    if (lpOverlapped->Internal == SHIM_STATUS_END_OF_FILE)
        return shim_set_errno(SHIM_E_HANDLE_EOF);
    return TRUE;
}

static int shim__seek(HANDLE h, LONGLONG distance, DWORD method, LONGLONG *pos)
{
    int fd;
    void *ref;
    int whence;
    int err;

    switch (method) {
    case FILE_BEGIN: whence = SEEK_SET; break;
    case FILE_CURRENT: whence = SEEK_CUR; break;
    case FILE_END: whence = SEEK_END; break;
    default: return EINVAL;
    }
    err = shim__file_acquire(h, &fd, NULL, &ref);
    if (err)
        return err;
    off_t base = whence == SEEK_SET ? 0 : lseek(fd, 0, whence);
    if (base < 0) {
        err = errno;
    } else if ((LONGLONG)base + distance < 0) {
        /* Why: Windows refuses a position before the start with ERROR_NEGATIVE_SEEK and
         * leaves the pointer where it was. */
        err = ESPIPE;
    } else {
        off_t r = lseek(fd, (off_t)((LONGLONG)base + distance), SEEK_SET);
        if (r < 0)
            err = errno;
        else
            *pos = r;
    }
    shim__file_release(ref);
    return err;
}

/*** SetFilePointerEx (shim kernel32) ***/
BOOL WINAPI SetFilePointerEx(HANDLE hFile, LARGE_INTEGER liDistanceToMove,
                             PLARGE_INTEGER lpNewFilePointer, DWORD dwMoveMethod)
{
    LONGLONG pos = 0;
    int err = shim__seek(hFile, liDistanceToMove.QuadPart, dwMoveMethod, &pos);
    if (!err && lpNewFilePointer)
        lpNewFilePointer->QuadPart = pos;
    return shim_set_errno(err);
}

/*** SetFilePointer (shim kernel32) ***/
DWORD WINAPI SetFilePointer(HANDLE hFile, LONG lDistanceToMove, PLONG lpDistanceToMoveHigh,
                            DWORD dwMoveMethod)
{
    LONGLONG distance = lpDistanceToMoveHigh
        ? (LONGLONG)(((ULONGLONG)(DWORD)*lpDistanceToMoveHigh << 32) | (DWORD)lDistanceToMove)
        : (LONGLONG)lDistanceToMove;
    LONGLONG pos = 0;
    int err = shim__seek(hFile, distance, dwMoveMethod, &pos);
    if (err) {
        shim_set_errno(err);
        return INVALID_SET_FILE_POINTER;
    }
    if (lpDistanceToMoveHigh)
        *lpDistanceToMoveHigh = (LONG)((ULONGLONG)pos >> 32);
    /* Why: a position whose low half is 0xFFFFFFFF looks like INVALID_SET_FILE_POINTER;
     * callers then read the last error, which Windows clears for them. */
    if ((DWORD)pos == INVALID_SET_FILE_POINTER)
        SetLastError(ERROR_SUCCESS);
    return (DWORD)pos;
}

static int shim__file_size(HANDLE h, LONGLONG *size)
{
    int fd;
    void *ref;
    struct stat st;
    int err = shim__file_acquire(h, &fd, NULL, &ref);

    if (err)
        return err;
    if (fstat(fd, &st) != 0)
        err = errno;
    else
        *size = (LONGLONG)st.st_size;
    shim__file_release(ref);
    return err;
}

/*** GetFileSizeEx (shim kernel32) ***/
BOOL WINAPI GetFileSizeEx(HANDLE hFile, PLARGE_INTEGER lpFileSize)
{
    LONGLONG size = 0;
    int err;

    if (!lpFileSize) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    err = shim__file_size(hFile, &size);
    if (!err)
        lpFileSize->QuadPart = size;
    return shim_set_errno(err);
}

/*** GetFileSize (shim kernel32) ***/
DWORD WINAPI GetFileSize(HANDLE hFile, LPDWORD lpFileSizeHigh)
{
    LONGLONG size = 0;
    int err = shim__file_size(hFile, &size);

    if (err) {
        shim_set_errno(err);
        return INVALID_FILE_SIZE;
    }
    if (lpFileSizeHigh)
        *lpFileSizeHigh = (DWORD)((ULONGLONG)size >> 32);
    /* Why: as SetFilePointer, a low half of 0xFFFFFFFF is told from a failure by the last
     * error, which Windows clears. */
    if ((DWORD)size == INVALID_FILE_SIZE)
        SetLastError(ERROR_SUCCESS);
    return (DWORD)size;
}

/*** DeleteFileA (shim kernel32) ***/
BOOL WINAPI DeleteFileA(LPCSTR lpFileName)
{
    struct stat st;

    if (!lpFileName) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    if (stat(lpFileName, &st) == 0 && S_ISDIR(st.st_mode)) {
        SetLastError(ERROR_ACCESS_DENIED);   /* as Windows answers for a folder */
        return FALSE;
    }
    return shim_set_errno(unlink(lpFileName) == 0 ? 0 : errno);
}
