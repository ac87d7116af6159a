/*
 * handles.c - kernel object handles: events, mutexes, threads and files, WaitForSingleObject,
 * CloseHandle, Sleep, GetCurrentProcessId.
 *
 * A HANDLE is an index into one process-wide table, encoded as (index + 1) * 4 like
 * Windows' handle values, so a stale or invented handle is detected and fails with
 * ERROR_INVALID_HANDLE instead of crashing. Each object is reference counted: one
 * reference per open handle, plus one held by a running thread for its own object, so
 * closing a thread handle neither stops nor leaks the thread. A file object owns a file
 * descriptor (file.c does the I/O), closed with its last reference, so a CloseHandle on
 * another thread never closes a descriptor a ReadFile is still using.
 *
 * All object state is guarded by one lock (shim_objects_lock); each object has its own
 * condition variable, signalled when its state changes, and waits use CLOCK_MONOTONIC so a
 * wall-clock change cannot stretch a timeout. A wait is satisfied like on Windows: an
 * auto-reset event is reset by the waiter it releases, a mutex becomes owned (recursively)
 * by the waiting thread, a thread object is signalled once the thread has returned.
 * Mutexes left owned by a CreateThread thread that returns are abandoned: the next waiter
 * gets WAIT_ABANDONED and the ownership. Named objects are not shared between processes
 * (a name is accepted and ignored, with a FIXME).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shim_private.h"

enum shim_obj_type { SHIM_OBJ_EVENT = 1, SHIM_OBJ_MUTEX, SHIM_OBJ_THREAD, SHIM_OBJ_FILE };

struct shim_object {
    enum shim_obj_type type;
    LONG refs;
    pthread_cond_t cond;
    union {
        struct { BOOL manual, signaled; } event;
        struct { DWORD owner; LONG count; BOOL abandoned; } mutex;
        struct {
            LPTHREAD_START_ROUTINE start;
            LPVOID param;
            DWORD id, exit_code;
            BOOL finished;
        } thread;
        struct { int fd; DWORD flags; } file;
    } u;
};

static pthread_mutex_t shim_objects_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shim_object **shim_table;
static size_t shim_table_size;

static struct shim_object *shim__object_new(enum shim_obj_type type)
{
    struct shim_object *obj = calloc(1, sizeof *obj);
    pthread_condattr_t attr;

    if (!obj)
        return NULL;
    obj->type = type;
    obj->refs = 1;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&obj->cond, &attr);
    pthread_condattr_destroy(&attr);
    return obj;
}

/* Caller holds the lock. */
static void shim__object_release(struct shim_object *obj)
{
    if (--obj->refs > 0)
        return;
    if (obj->type == SHIM_OBJ_FILE)
        close(obj->u.file.fd);
    pthread_cond_destroy(&obj->cond);
    free(obj);
}

/* Stores obj in a free slot; caller holds the lock. */
static int shim__handle_alloc(struct shim_object *obj, HANDLE *out)
{
    size_t i;

    for (i = 0; i < shim_table_size; i++)
        if (!shim_table[i])
            break;
    if (i == shim_table_size) {
        size_t size = shim_table_size ? shim_table_size * 2 : 64;
        struct shim_object **t = realloc(shim_table, size * sizeof *t);
        if (!t)
            return ENOMEM;
        memset(t + shim_table_size, 0, (size - shim_table_size) * sizeof *t);
        shim_table = t;
        shim_table_size = size;
    }
    shim_table[i] = obj;
    *out = (HANDLE)(ULONG_PTR)((i + 1) * 4);
    return 0;
}

/* Caller holds the lock. Returns NULL for anything that is not an open handle. */
static struct shim_object *shim__handle_get(HANDLE h)
{
    ULONG_PTR v = (ULONG_PTR)h;
    if (v == 0 || v % 4 != 0 || v / 4 > shim_table_size)
        return NULL;
    return shim_table[v / 4 - 1];
}

static HANDLE shim__handle_create(struct shim_object *obj)
{
    HANDLE h = NULL;
    int err;

    if (!obj) {
        shim_set_errno(ENOMEM);
        return NULL;
    }
    pthread_mutex_lock(&shim_objects_lock);
    err = shim__handle_alloc(obj, &h);
    if (err)
        shim__object_release(obj);
    pthread_mutex_unlock(&shim_objects_lock);
    if (!shim_set_errno(err))
        return NULL;
    /* Why: the Create* functions report ERROR_SUCCESS for a new (not pre-existing) object,
     * so callers can test GetLastError() against ERROR_ALREADY_EXISTS. */
    SetLastError(ERROR_SUCCESS);
    return h;
}

/*** CreateEventA (shim kernel32) ***/
HANDLE WINAPI CreateEventA(LPSECURITY_ATTRIBUTES lpEventAttributes, BOOL bManualReset,
                           BOOL bInitialState, LPCSTR lpName)
{
    struct shim_object *obj;

    if (lpName)
        SHIM_FIXME("named events are private to the process");
    obj = shim__object_new(SHIM_OBJ_EVENT);
    if (obj) {
        obj->u.event.manual = bManualReset != FALSE;
        obj->u.event.signaled = bInitialState != FALSE;
    }
    return shim__handle_create(obj);
}

static int shim__event_set(HANDLE h, BOOL state)
{
    struct shim_object *obj;
    int err = 0;

    pthread_mutex_lock(&shim_objects_lock);
    obj = shim__handle_get(h);
    if (!obj || obj->type != SHIM_OBJ_EVENT) {
        err = SHIM_E_INVALID_HANDLE;
    } else {
        obj->u.event.signaled = state;
        if (state) {
            if (obj->u.event.manual)
                pthread_cond_broadcast(&obj->cond);
            else
                pthread_cond_signal(&obj->cond);
        }
    }
    pthread_mutex_unlock(&shim_objects_lock);
    return err;
}

/*** SetEvent (shim kernel32) ***/
BOOL WINAPI SetEvent(HANDLE hEvent)
{
    return shim_set_errno(shim__event_set(hEvent, TRUE));
}

/*** ResetEvent (shim kernel32) ***/
BOOL WINAPI ResetEvent(HANDLE hEvent)
{
    return shim_set_errno(shim__event_set(hEvent, FALSE));
}

HANDLE shim__file_handle_new(int fd, DWORD flags)
{
    struct shim_object *obj = shim__object_new(SHIM_OBJ_FILE);
    if (!obj) {
        close(fd);
        shim_set_errno(ENOMEM);
        return INVALID_HANDLE_VALUE;
    }
    obj->u.file.fd = fd;
    obj->u.file.flags = flags;
    HANDLE h = shim__handle_create(obj);   /* closes fd through the release on failure */
    return h ? h : INVALID_HANDLE_VALUE;
}

int shim__file_acquire(HANDLE h, int *fd, DWORD *flags, void **ref)
{
    struct shim_object *obj;
    int err = 0;

    pthread_mutex_lock(&shim_objects_lock);
    obj = shim__handle_get(h);
    if (!obj || obj->type != SHIM_OBJ_FILE) {
        err = SHIM_E_INVALID_HANDLE;
    } else {
        obj->refs++;
        *fd = obj->u.file.fd;
        if (flags)
            *flags = obj->u.file.flags;
        *ref = obj;
    }
    pthread_mutex_unlock(&shim_objects_lock);
    return err;
}

void shim__file_release(void *ref)
{
    pthread_mutex_lock(&shim_objects_lock);
    shim__object_release(ref);
    pthread_mutex_unlock(&shim_objects_lock);
}

/*** CreateMutexA (shim kernel32) ***/
HANDLE WINAPI CreateMutexA(LPSECURITY_ATTRIBUTES lpMutexAttributes, BOOL bInitialOwner, LPCSTR lpName)
{
    struct shim_object *obj;

    if (lpName)
        SHIM_FIXME("named mutexes are private to the process");
    obj = shim__object_new(SHIM_OBJ_MUTEX);
    if (obj && bInitialOwner) {
        obj->u.mutex.owner = shim__thread_id();
        obj->u.mutex.count = 1;
    }
    return shim__handle_create(obj);
}

/*** ReleaseMutex (shim kernel32) ***/
BOOL WINAPI ReleaseMutex(HANDLE hMutex)
{
    struct shim_object *obj;
    int err = 0;

    pthread_mutex_lock(&shim_objects_lock);
    obj = shim__handle_get(hMutex);
    if (!obj || obj->type != SHIM_OBJ_MUTEX) {
        err = SHIM_E_INVALID_HANDLE;
    } else if (obj->u.mutex.count == 0 || obj->u.mutex.owner != shim__thread_id()) {
        err = SHIM_E_NOT_OWNER;
    } else if (--obj->u.mutex.count == 0) {
        obj->u.mutex.owner = 0;
        pthread_cond_signal(&obj->cond);
    }
    pthread_mutex_unlock(&shim_objects_lock);
    return shim_set_errno(err);
}

/* Marks the mutexes a finished thread still owns as abandoned; caller holds the lock. */
static void shim__abandon_mutexes(DWORD tid)
{
    for (size_t i = 0; i < shim_table_size; i++) {
        struct shim_object *obj = shim_table[i];
        if (obj && obj->type == SHIM_OBJ_MUTEX && obj->u.mutex.count && obj->u.mutex.owner == tid) {
            obj->u.mutex.count = 0;
            obj->u.mutex.owner = 0;
            obj->u.mutex.abandoned = TRUE;
            pthread_cond_signal(&obj->cond);
        }
    }
}

static void *shim__thread_main(void *arg)
{
    struct shim_object *obj = arg;
    DWORD code;

    shim__thread_id_set(obj->u.thread.id);
    code = obj->u.thread.start(obj->u.thread.param);

    pthread_mutex_lock(&shim_objects_lock);
    obj->u.thread.exit_code = code;
    obj->u.thread.finished = TRUE;
    shim__abandon_mutexes(obj->u.thread.id);
    pthread_cond_broadcast(&obj->cond);
    shim__object_release(obj);
    pthread_mutex_unlock(&shim_objects_lock);
    return NULL;
}

/*** CreateThread (shim kernel32) ***/
HANDLE WINAPI CreateThread(LPSECURITY_ATTRIBUTES lpThreadAttributes, SIZE_T dwStackSize,
                           LPTHREAD_START_ROUTINE lpStartAddress, LPVOID lpParameter,
                           DWORD dwCreationFlags, LPDWORD lpThreadId)
{
    struct shim_object *obj;
    pthread_attr_t attr;
    pthread_t thread;
    HANDLE h = NULL;
    int err;

    if (!lpStartAddress) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    if (dwCreationFlags & ~0x00010000u)   /* STACK_SIZE_PARAM_IS_A_RESERVATION is harmless */
        SHIM_FIXME("creation flags (CREATE_SUSPENDED) are ignored; the thread starts at once");
    obj = shim__object_new(SHIM_OBJ_THREAD);
    if (!obj)
        return shim_set_errno(ENOMEM), NULL;
    obj->u.thread.start = lpStartAddress;
    obj->u.thread.param = lpParameter;
    obj->u.thread.id = shim__thread_id_new();
    obj->u.thread.exit_code = STILL_ACTIVE;
    obj->refs = 2;   /* the handle and the running thread */

    pthread_mutex_lock(&shim_objects_lock);
    err = shim__handle_alloc(obj, &h);
    if (!err) {
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (dwStackSize)
            pthread_attr_setstacksize(&attr, dwStackSize < 65536 ? 65536 : dwStackSize);
        err = pthread_create(&thread, &attr, shim__thread_main, obj);
        pthread_attr_destroy(&attr);
        if (err)
            shim_table[(ULONG_PTR)h / 4 - 1] = NULL;
    }
    if (err) {
        obj->refs = 1;
        shim__object_release(obj);
    }
    pthread_mutex_unlock(&shim_objects_lock);
    if (!shim_set_errno(err))
        return NULL;
    if (lpThreadId)
        *lpThreadId = obj->u.thread.id;
    return h;
}

/*** GetExitCodeThread (shim kernel32) ***/
BOOL WINAPI GetExitCodeThread(HANDLE hThread, LPDWORD lpExitCode)
{
    struct shim_object *obj;
    int err = 0;

    pthread_mutex_lock(&shim_objects_lock);
    obj = shim__handle_get(hThread);
    if (!obj || obj->type != SHIM_OBJ_THREAD)
        err = SHIM_E_INVALID_HANDLE;
    else
        *lpExitCode = obj->u.thread.finished ? obj->u.thread.exit_code : STILL_ACTIVE;
    pthread_mutex_unlock(&shim_objects_lock);
    return shim_set_errno(err);
}

/* Tries to satisfy a wait; caller holds the lock. Returns TRUE with *result set when the
 * object is signalled (and consumes the signal as Windows does). */
static BOOL shim__try_acquire(struct shim_object *obj, DWORD *result)
{
    DWORD self;

    switch (obj->type) {
    case SHIM_OBJ_EVENT:
        if (!obj->u.event.signaled)
            return FALSE;
        if (!obj->u.event.manual)
            obj->u.event.signaled = FALSE;
        *result = WAIT_OBJECT_0;
        return TRUE;
    case SHIM_OBJ_MUTEX:
        self = shim__thread_id();
        if (obj->u.mutex.count && obj->u.mutex.owner != self)
            return FALSE;
        obj->u.mutex.owner = self;
        obj->u.mutex.count++;
        *result = obj->u.mutex.abandoned ? WAIT_ABANDONED : WAIT_OBJECT_0;
        obj->u.mutex.abandoned = FALSE;
        return TRUE;
    case SHIM_OBJ_THREAD:
        if (!obj->u.thread.finished)
            return FALSE;
        *result = WAIT_OBJECT_0;
        return TRUE;
    case SHIM_OBJ_FILE:
        /* Why signalled: a file handle is signalled when no I/O is in progress on it, and
         * the shim's file I/O is finished before each call returns. */
        *result = WAIT_OBJECT_0;
        return TRUE;
    }
    return FALSE;
}

/*** WaitForSingleObject (shim kernel32) ***/
DWORD WINAPI WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds)
{
    struct shim_object *obj;
    struct timespec deadline;
    DWORD result = WAIT_TIMEOUT;

    if (dwMilliseconds != INFINITE) {
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += dwMilliseconds / 1000;
        deadline.tv_nsec += (long)(dwMilliseconds % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&shim_objects_lock);
    obj = shim__handle_get(hHandle);
    if (!obj) {
        pthread_mutex_unlock(&shim_objects_lock);
        shim_set_errno(SHIM_E_INVALID_HANDLE);
        return WAIT_FAILED;
    }
    obj->refs++;   /* CloseHandle during the wait must not free the object under us */
    while (!shim__try_acquire(obj, &result)) {
        int rc;
        if (dwMilliseconds == 0) {
            result = WAIT_TIMEOUT;
            break;
        }
        if (dwMilliseconds == INFINITE)
            rc = pthread_cond_wait(&obj->cond, &shim_objects_lock);
        else
            rc = pthread_cond_timedwait(&obj->cond, &shim_objects_lock, &deadline);
        if (rc == ETIMEDOUT && !shim__try_acquire(obj, &result)) {
            result = WAIT_TIMEOUT;
            break;
        }
        if (rc == ETIMEDOUT)
            break;
    }
    /* Auto-reset events and mutexes release one waiter per signal; a waiter that timed out
     * while a signal arrived passes it on. */
    if (result == WAIT_TIMEOUT && obj->type != SHIM_OBJ_THREAD && obj->type != SHIM_OBJ_FILE)
        pthread_cond_signal(&obj->cond);
    shim__object_release(obj);
    pthread_mutex_unlock(&shim_objects_lock);
    return result;
}

/*** CloseHandle (shim kernel32) ***/
BOOL WINAPI CloseHandle(HANDLE hObject)
{
    struct shim_object *obj;
    int err = 0;

    pthread_mutex_lock(&shim_objects_lock);
    obj = shim__handle_get(hObject);
    if (!obj) {
        err = SHIM_E_INVALID_HANDLE;
    } else {
        shim_table[(ULONG_PTR)hObject / 4 - 1] = NULL;
        shim__object_release(obj);
    }
    pthread_mutex_unlock(&shim_objects_lock);
    return shim_set_errno(err);
}

/*** GetCurrentProcessId (shim kernel32) ***/
DWORD WINAPI GetCurrentProcessId(void)
{
    return (DWORD)getpid();
}

/*** Sleep (shim kernel32) ***/
void WINAPI Sleep(DWORD dwMilliseconds)
{
    struct timespec ts;

    if (dwMilliseconds == 0) {
        sched_yield();
        return;
    }
    if (dwMilliseconds == INFINITE) {
        for (;;)
            pause();
    }
    ts.tv_sec = dwMilliseconds / 1000;
    ts.tv_nsec = (long)(dwMilliseconds % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}
