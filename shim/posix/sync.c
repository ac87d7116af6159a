/*
 * sync.c - critical sections, Interlocked*, thread ids and thread-local storage slots.
 *
 * CRITICAL_SECTION keeps Windows' layout (windows.h): the shim allocates a recursive
 * pthread mutex and keeps it behind LockSemaphore, then maintains RecursionCount and
 * OwningThread (the owner's Win32 thread id) as Windows does, so code that peeks at them
 * (asserting ownership, debugging) reads the same values. LockCount stays -1 while the
 * section is free and counts acquisitions beyond the first otherwise; DebugInfo is unused.
 *
 * Interlocked* are real functions over the GCC/Clang __atomic builtins with sequential
 * consistency, Windows' full-barrier semantics.
 *
 * Thread ids: Windows ids are small non-zero numbers unique in the process. The shim hands
 * them out from a counter in steps of 4 (Windows ids are multiples of 4), on first use for
 * threads it did not create and before start for CreateThread threads, so CreateThread can
 * return the id at once.
 *
 * TLS slots map to pthread keys. TlsFree deletes the key, and TlsAlloc creates a new one,
 * so a reused index reads NULL in every thread, which is what Windows guarantees.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "shim_private.h"

static _Thread_local DWORD shim_thread_id;
static DWORD shim_next_thread_id = 4;

DWORD shim__thread_id_new(void)
{
    return __atomic_fetch_add(&shim_next_thread_id, 4, __ATOMIC_RELAXED);
}

void shim__thread_id_set(DWORD id)
{
    shim_thread_id = id;
}

DWORD shim__thread_id(void)
{
    if (!shim_thread_id)
        shim_thread_id = shim__thread_id_new();
    return shim_thread_id;
}

/*** GetCurrentThreadId (shim kernel32) ***/
DWORD WINAPI GetCurrentThreadId(void)
{
    return shim__thread_id();
}

static pthread_mutex_t *shim__cs_mutex(LPCRITICAL_SECTION cs)
{
    return (pthread_mutex_t *)cs->LockSemaphore;
}

static int shim__cs_init(LPCRITICAL_SECTION cs, DWORD spin)
{
    pthread_mutexattr_t attr;
    pthread_mutex_t *m = malloc(sizeof *m);
    int err;

    if (!m)
        return ENOMEM;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    err = pthread_mutex_init(m, &attr);
    pthread_mutexattr_destroy(&attr);
    if (err) {
        free(m);
        return err;
    }
    cs->DebugInfo = NULL;
    cs->LockCount = -1;
    cs->RecursionCount = 0;
    cs->OwningThread = NULL;
    cs->LockSemaphore = m;
    cs->SpinCount = spin;
    return 0;
}

/*** InitializeCriticalSection (shim kernel32) ***/
void WINAPI InitializeCriticalSection(LPCRITICAL_SECTION lpCriticalSection)
{
    int err = shim__cs_init(lpCriticalSection, 0);
    if (err)
        abort();   /* Windows raises STATUS_NO_MEMORY here; there is no return value */
}

/*** InitializeCriticalSectionAndSpinCount (shim kernel32) ***/
BOOL WINAPI InitializeCriticalSectionAndSpinCount(LPCRITICAL_SECTION lpCriticalSection, DWORD dwSpinCount)
{
    return shim_set_errno(shim__cs_init(lpCriticalSection, dwSpinCount & 0x00FFFFFF));
}

/*** EnterCriticalSection (shim kernel32) ***/
void WINAPI EnterCriticalSection(LPCRITICAL_SECTION lpCriticalSection)
{
    pthread_mutex_lock(shim__cs_mutex(lpCriticalSection));
    lpCriticalSection->LockCount++;
    if (lpCriticalSection->RecursionCount++ == 0)
        lpCriticalSection->OwningThread = (HANDLE)(ULONG_PTR)shim__thread_id();
}

/*** TryEnterCriticalSection (shim kernel32) ***/
BOOL WINAPI TryEnterCriticalSection(LPCRITICAL_SECTION lpCriticalSection)
{
    if (pthread_mutex_trylock(shim__cs_mutex(lpCriticalSection)) != 0)
        return FALSE;
    lpCriticalSection->LockCount++;
    if (lpCriticalSection->RecursionCount++ == 0)
        lpCriticalSection->OwningThread = (HANDLE)(ULONG_PTR)shim__thread_id();
    return TRUE;
}

/*** LeaveCriticalSection (shim kernel32) ***/
void WINAPI LeaveCriticalSection(LPCRITICAL_SECTION lpCriticalSection)
{
    if (lpCriticalSection->RecursionCount <= 0)
        return;   /* Why: leaving an unowned section is a no-op on Windows, not a crash */
    lpCriticalSection->LockCount--;
    if (--lpCriticalSection->RecursionCount == 0)
        lpCriticalSection->OwningThread = NULL;
    pthread_mutex_unlock(shim__cs_mutex(lpCriticalSection));
}

/*** DeleteCriticalSection (shim kernel32) ***/
void WINAPI DeleteCriticalSection(LPCRITICAL_SECTION lpCriticalSection)
{
    pthread_mutex_t *m = shim__cs_mutex(lpCriticalSection);
    if (m) {
        pthread_mutex_destroy(m);
        free(m);
    }
    lpCriticalSection->LockSemaphore = NULL;
    lpCriticalSection->LockCount = -1;
    lpCriticalSection->RecursionCount = 0;
    lpCriticalSection->OwningThread = NULL;
}

/*** InterlockedIncrement (shim kernel32) ***/
LONG WINAPI InterlockedIncrement(LONG volatile *Addend)
{
    return __atomic_add_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}

/*** InterlockedDecrement (shim kernel32) ***/
LONG WINAPI InterlockedDecrement(LONG volatile *Addend)
{
    return __atomic_sub_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}

/*** InterlockedExchange (shim kernel32) ***/
LONG WINAPI InterlockedExchange(LONG volatile *Target, LONG Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}

/*** InterlockedExchangeAdd (shim kernel32) ***/
LONG WINAPI InterlockedExchangeAdd(LONG volatile *Addend, LONG Value)
{
    return __atomic_fetch_add(Addend, Value, __ATOMIC_SEQ_CST);
}

/*** InterlockedCompareExchange (shim kernel32) ***/
LONG WINAPI InterlockedCompareExchange(LONG volatile *Destination, LONG Exchange, LONG Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, Exchange, 0, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
    return Comperand;
}

/*** InterlockedExchangePointer (shim kernel32) ***/
PVOID WINAPI InterlockedExchangePointer(PVOID volatile *Target, PVOID Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}

/*** InterlockedCompareExchangePointer (shim kernel32) ***/
PVOID WINAPI InterlockedCompareExchangePointer(PVOID volatile *Destination, PVOID Exchange, PVOID Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, Exchange, 0, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
    return Comperand;
}

/* Windows' TLS_MINIMUM_AVAILABLE (64) plus the 1024 expansion slots. */
#define SHIM_TLS_SLOTS 1088

static pthread_mutex_t shim_tls_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t shim_tls_keys[SHIM_TLS_SLOTS];
static BOOL shim_tls_used[SHIM_TLS_SLOTS];

/*** TlsAlloc (shim kernel32) ***/
DWORD WINAPI TlsAlloc(void)
{
    DWORD index = TLS_OUT_OF_INDEXES;
    int err = ENOMEM;

    pthread_mutex_lock(&shim_tls_lock);
    for (DWORD i = 0; i < SHIM_TLS_SLOTS; i++) {
        if (shim_tls_used[i])
            continue;
        err = pthread_key_create(&shim_tls_keys[i], NULL);
        if (!err) {
            shim_tls_used[i] = TRUE;
            index = i;
        }
        break;
    }
    pthread_mutex_unlock(&shim_tls_lock);
    shim_set_errno(err);
    return index;
}

static int shim__tls_key(DWORD index, pthread_key_t *key)
{
    int err = 0;
    if (index >= SHIM_TLS_SLOTS)
        return EINVAL;
    pthread_mutex_lock(&shim_tls_lock);
    if (shim_tls_used[index])
        *key = shim_tls_keys[index];
    else
        err = EINVAL;
    pthread_mutex_unlock(&shim_tls_lock);
    return err;
}

/*** TlsGetValue (shim kernel32) ***/
LPVOID WINAPI TlsGetValue(DWORD dwTlsIndex)
{
    pthread_key_t key = 0;
    int err = shim__tls_key(dwTlsIndex, &key);

    if (!shim_set_errno(err))
        return NULL;
    /* Why: TlsGetValue clears the last error on success, so a stored NULL can be told
     * from a failure (MS docs, TlsGetValue). */
    SetLastError(ERROR_SUCCESS);
    return pthread_getspecific(key);
}

/*** TlsSetValue (shim kernel32) ***/
BOOL WINAPI TlsSetValue(DWORD dwTlsIndex, LPVOID lpTlsValue)
{
    pthread_key_t key = 0;
    int err = shim__tls_key(dwTlsIndex, &key);

    if (!err)
        err = pthread_setspecific(key, lpTlsValue);
    return shim_set_errno(err);
}

/*** TlsFree (shim kernel32) ***/
BOOL WINAPI TlsFree(DWORD dwTlsIndex)
{
    int err = 0;

    if (dwTlsIndex >= SHIM_TLS_SLOTS)
        return shim_set_errno(EINVAL);
    pthread_mutex_lock(&shim_tls_lock);
    if (shim_tls_used[dwTlsIndex]) {
        pthread_key_delete(shim_tls_keys[dwTlsIndex]);
        shim_tls_used[dwTlsIndex] = FALSE;
    } else {
        err = EINVAL;
    }
    pthread_mutex_unlock(&shim_tls_lock);
    return shim_set_errno(err);
}
