/*
 * module.c - LoadLibrary/GetProcAddress/FreeLibrary and friends over dlopen.
 *
 * An HMODULE is a `struct shim_module` record: the dlopen handle, the absolute path, a
 * reference count, the library's load base (to tell its own symbols from those of its
 * dependencies) and its DllMain, if it exports one. All records live on one list guarded
 * by a recursive "loader lock", held while DllMain runs, as Windows holds its loader lock,
 * so DllMain may call GetModuleFileNameA or LoadLibraryA itself.
 *
 * Loading a path that is already loaded (same absolute path after realpath) returns the
 * same HMODULE with one more reference. The first load calls DllMain(h, DLL_PROCESS_ATTACH,
 * NULL); the last FreeLibrary calls DllMain(h, DLL_PROCESS_DETACH, NULL) and dlcloses.
 * Libraries are opened RTLD_NOW | RTLD_LOCAL: every import is resolved at load time and
 * nothing a filter exports leaks into the next filter, as with DLLs.
 *
 * Two records are built in: the executable (GetModuleHandleA(NULL)) and libshim itself,
 * which answers to the names of the Windows DLLs it stands in for (kernel32.dll,
 * advapi32.dll, user32.dll), so GetProcAddress(GetModuleHandleA("kernel32.dll"), ...)
 * finds the shim's functions. Neither is ever unloaded.
 *
 * Name rules (Why: filter sources and configurations carry Windows names): trailing spaces
 * are stripped (as Wine does), '\' is a path separator, a name without extension gets
 * ".so" (Windows appends ".dll"), and "x.dll" falls back to "x.so" when "x.dll" does not
 * exist. A bare name is searched in the executable's directory, then the current
 * directory, then by dlopen's own search (LD_LIBRARY_PATH, system directories).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim_private.h"

typedef BOOL (WINAPI *shim_dllmain_fn)(HINSTANCE, DWORD, LPVOID);

struct shim_module {
    struct shim_module *next;
    void *dl;
    char *path;
    LONG refs;
    void *base;
    shim_dllmain_fn dllmain;
    BOOL builtin;          /* the executable or libshim: never unloaded */
};

static pthread_mutex_t shim_loader_lock;
static pthread_once_t shim_loader_once = PTHREAD_ONCE_INIT;
static struct shim_module *shim_modules;
static struct shim_module shim_exe_module, shim_self_module;

static const char *const shim_self_names[] = { "kernel32", "advapi32", "user32", "kernelbase",
                                                "bcrypt" };

static void *shim__dl_base(void *dl)
{
    struct link_map *map = NULL;
    Dl_info info;

    if (dlinfo(dl, RTLD_DI_LINKMAP, &map) != 0 || !map)
        return NULL;
    if (!dladdr(map->l_ld, &info))
        return NULL;
    return info.dli_fbase;
}

static void shim__loader_init(void)
{
    pthread_mutexattr_t attr;
    char path[PATH_MAX];
    Dl_info info;

    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&shim_loader_lock, &attr);
    pthread_mutexattr_destroy(&attr);

    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    path[n > 0 ? n : 0] = '\0';
    shim_exe_module.path = strdup(path);
    shim_exe_module.dl = dlopen(NULL, RTLD_NOW);
    shim_exe_module.base = shim_exe_module.dl ? shim__dl_base(shim_exe_module.dl) : NULL;
    shim_exe_module.refs = 1;
    shim_exe_module.builtin = TRUE;

    if (dladdr((void *)&GetLastError, &info) && info.dli_fname) {
        shim_self_module.path = realpath(info.dli_fname, NULL);
        shim_self_module.base = info.dli_fbase;
        if (shim_self_module.path)
            shim_self_module.dl = dlopen(shim_self_module.path, RTLD_NOW | RTLD_NOLOAD);
    }
    if (!shim_self_module.path)
        shim_self_module.path = strdup("libshim.so");
    shim_self_module.refs = 1;
    shim_self_module.builtin = TRUE;
}

static void shim__loader_enter(void)
{
    pthread_once(&shim_loader_once, shim__loader_init);
    pthread_mutex_lock(&shim_loader_lock);
}

static void shim__loader_leave(void)
{
    pthread_mutex_unlock(&shim_loader_lock);
}

/* Caller holds the loader lock. */
static BOOL shim__module_valid(HMODULE h)
{
    if (h == &shim_exe_module || h == &shim_self_module)
        return TRUE;
    for (struct shim_module *m = shim_modules; m; m = m->next)
        if (m == h)
            return TRUE;
    return FALSE;
}

static const char *shim__basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Length of a file name without its ".dll" or ".so" extension. */
static size_t shim__stem_len(const char *name)
{
    size_t n = strlen(name);
    if (n > 4 && shim__strcasecmp(name + n - 4, ".dll") == 0)
        return n - 4;
    if (n > 3 && strcmp(name + n - 3, ".so") == 0)
        return n - 3;
    return n;
}

static BOOL shim__same_stem(const char *a, const char *b)
{
    size_t la = shim__stem_len(a), lb = shim__stem_len(b);
    if (la != lb)
        return FALSE;
    for (size_t i = 0; i < la; i++)
        if (shim__tolower((unsigned char)a[i]) != shim__tolower((unsigned char)b[i]))
            return FALSE;
    return TRUE;
}

static BOOL shim__is_self_name(const char *name)
{
    for (size_t i = 0; i < sizeof shim_self_names / sizeof shim_self_names[0]; i++)
        if (shim__same_stem(name, shim_self_names[i]))
            return TRUE;
    return FALSE;
}

/* Copies a Win32 module name into buf: separators to '/', trailing spaces stripped. */
static int shim__normalize_name(const char *in, char *buf, size_t size)
{
    size_t n = strlen(in);
    while (n > 0 && in[n - 1] == ' ')
        n--;
    if (n == 0)
        return SHIM_E_MOD_NOT_FOUND;
    if (n + 4 >= size)
        return ENAMETOOLONG;
    for (size_t i = 0; i < n; i++)
        buf[i] = in[i] == '\\' ? '/' : in[i];
    buf[n] = '\0';
    return 0;
}

static BOOL shim__is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Tries dir/name with the extension rules; on success path holds an existing file. */
static BOOL shim__probe(const char *dir, const char *name, char *path, size_t size)
{
    const char *base = shim__basename(name);
    size_t blen = strlen(base);
    int n;

    if (dir)
        n = snprintf(path, size, "%s/%s", dir, name);
    else
        n = snprintf(path, size, "%s", name);
    if (n < 0 || (size_t)n + 4 >= size)
        return FALSE;
    if (blen > 0 && base[blen - 1] == '.') {
        path[n - 1] = '\0';          /* "name." means: no extension */
        return shim__is_file(path);
    }
    if (!strchr(base, '.')) {
        strcat(path, ".so");
        return shim__is_file(path);
    }
    if (shim__is_file(path))
        return TRUE;
    if (blen > 4 && shim__strcasecmp(base + blen - 4, ".dll") == 0) {
        strcpy(path + n - 4, ".so");
        return shim__is_file(path);
    }
    return FALSE;
}

static int shim__check_elf(const char *path)
{
    unsigned char magic[4];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? SHIM_E_MOD_NOT_FOUND : errno;
    ssize_t n = read(fd, magic, sizeof magic);
    close(fd);
    if (n != 4 || memcmp(magic, "\177ELF", 4) != 0)
        return SHIM_E_BAD_EXE_FORMAT;
    return 0;
}

static int shim__dlerror_status(void)
{
    const char *e = dlerror();
    if (!e)
        return SHIM_E_MOD_NOT_FOUND;
    if (strstr(e, "undefined symbol"))
        return SHIM_E_PROC_NOT_FOUND;
    if (strstr(e, "cannot open shared object"))
        return SHIM_E_MOD_NOT_FOUND;
    return SHIM_E_BAD_EXE_FORMAT;
}

/* Looks a symbol up in the module itself, not in its dependencies (Windows' export table
 * holds only the DLL's own names). */
static void *shim__module_sym(struct shim_module *m, const char *name)
{
    Dl_info info;
    void *sym;

    if (!m->dl)
        return NULL;
    sym = dlsym(m->dl, name);
    if (!sym)
        return NULL;
    if (m->base && (!dladdr(sym, &info) || info.dli_fbase != m->base))
        return NULL;
    return sym;
}

/* Caller holds the loader lock. */
static struct shim_module *shim__find_path(const char *abs)
{
    for (struct shim_module *m = shim_modules; m; m = m->next)
        if (strcmp(m->path, abs) == 0)
            return m;
    return NULL;
}

static void shim__unlink(struct shim_module *mod)
{
    for (struct shim_module **pp = &shim_modules; *pp; pp = &(*pp)->next)
        if (*pp == mod) {
            *pp = mod->next;
            break;
        }
}

static void shim__destroy(struct shim_module *mod)
{
    shim__unlink(mod);
    dlclose(mod->dl);
    free(mod->path);
    free(mod);
}

/* Caller holds the loader lock. */
static int shim__load(const char *name, DWORD flags, struct shim_module **out)
{
    char norm[PATH_MAX], path[PATH_MAX], dir[PATH_MAX];
    char *abs = NULL;
    void *dl = NULL;
    int err;

    if ((err = shim__normalize_name(name, norm, sizeof norm)) != 0)
        return err;
    if (!strchr(norm, '/') && shim__is_self_name(norm)) {
        *out = &shim_self_module;
        return 0;
    }

    BOOL found = FALSE;
    if (strchr(norm, '/')) {
        found = shim__probe(NULL, norm, path, sizeof path);
    } else {
        const char *exe = shim_exe_module.path;
        const char *slash = exe ? strrchr(exe, '/') : NULL;
        if (slash && (size_t)(slash - exe) < sizeof dir) {
            memcpy(dir, exe, (size_t)(slash - exe));
            dir[slash - exe] = '\0';
            found = shim__probe(dir, norm, path, sizeof path);
        }
        if (!found)
            found = shim__probe(".", norm, path, sizeof path);
    }

    if (found) {
        abs = realpath(path, NULL);
        if (!abs)
            return errno == ENOENT ? SHIM_E_MOD_NOT_FOUND : errno;
        struct shim_module *m = shim__find_path(abs);
        if (m) {
            free(abs);
            m->refs++;
            *out = m;
            return 0;
        }
        if ((err = shim__check_elf(abs)) != 0) {
            free(abs);
            return err;
        }
        dl = dlopen(abs, RTLD_NOW | RTLD_LOCAL);
        if (!dl) {
            free(abs);
            return shim__dlerror_status();
        }
    } else {
        if (strchr(norm, '/'))
            return SHIM_E_MOD_NOT_FOUND;
        dl = dlopen(norm, RTLD_NOW | RTLD_LOCAL);
        if (!dl) {
            dlerror();
            return SHIM_E_MOD_NOT_FOUND;
        }
        struct link_map *map = NULL;
        if (dlinfo(dl, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name[0])
            abs = realpath(map->l_name, NULL);
        if (!abs)
            abs = strdup(norm);
        struct shim_module *m = abs ? shim__find_path(abs) : NULL;
        if (m) {
            dlclose(dl);
            free(abs);
            m->refs++;
            *out = m;
            return 0;
        }
    }

    struct shim_module *mod = calloc(1, sizeof *mod);
    if (!mod || !abs) {
        free(mod);
        free(abs);
        dlclose(dl);
        return ENOMEM;
    }
    mod->dl = dl;
    mod->path = abs;
    mod->refs = 1;
    mod->base = shim__dl_base(dl);
    mod->next = shim_modules;
    shim_modules = mod;

    if (!(flags & (DONT_RESOLVE_DLL_REFERENCES | LOAD_LIBRARY_AS_DATAFILE))) {
        void *sym = shim__module_sym(mod, "DllMain");
        memcpy(&mod->dllmain, &sym, sizeof sym);
    }
    if (mod->dllmain && !mod->dllmain(mod, DLL_PROCESS_ATTACH, NULL)) {
        /* Why: a DllMain that fails PROCESS_ATTACH gets PROCESS_DETACH at once and the
         * DLL is unloaded (MS docs, "DllMain entry point", return value). */
        mod->dllmain(mod, DLL_PROCESS_DETACH, NULL);
        shim__destroy(mod);
        return SHIM_E_DLL_INIT_FAILED;
    }
    *out = mod;
    return 0;
}

/*** LoadLibraryExA (shim kernel32) ***/
HMODULE WINAPI LoadLibraryExA(LPCSTR lpLibFileName, HANDLE hFile, DWORD dwFlags)
{
    struct shim_module *mod = NULL;
    int err;

    if (!lpLibFileName || hFile) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    if (dwFlags & LOAD_LIBRARY_AS_DATAFILE)
        SHIM_FIXME("LOAD_LIBRARY_AS_DATAFILE maps the library as code, without DllMain");
    if (dwFlags & ~(DWORD)(DONT_RESOLVE_DLL_REFERENCES | LOAD_LIBRARY_AS_DATAFILE |
                           LOAD_WITH_ALTERED_SEARCH_PATH))
        SHIM_FIXME("flags other than DONT_RESOLVE_DLL_REFERENCES, LOAD_LIBRARY_AS_DATAFILE and "
                   "LOAD_WITH_ALTERED_SEARCH_PATH are ignored");
    shim__loader_enter();
    err = shim__load(lpLibFileName, dwFlags, &mod);
    shim__loader_leave();
    return shim_set_errno(err) ? mod : NULL;
}

/*** LoadLibraryA (shim kernel32) ***/
HMODULE WINAPI LoadLibraryA(LPCSTR lpLibFileName)
{
    return LoadLibraryExA(lpLibFileName, NULL, 0);
}

/*** GetProcAddress (shim kernel32) ***/
FARPROC WINAPI GetProcAddress(HMODULE hModule, LPCSTR lpProcName)
{
    FARPROC fn = NULL;
    void *sym = NULL;
    int err = 0;

    if (lpProcName && HIWORD((DWORD_PTR)lpProcName) == 0) {
        SHIM_FIXME("exports by ordinal do not exist in shared objects");
        SetLastError(ERROR_PROC_NOT_FOUND);
        return NULL;
    }
    shim__loader_enter();
    if (!hModule)
        hModule = &shim_exe_module;
    if (!shim__module_valid(hModule))
        err = SHIM_E_MOD_NOT_FOUND;
    else if (!lpProcName || !(sym = shim__module_sym(hModule, lpProcName)))
        err = SHIM_E_PROC_NOT_FOUND;
    shim__loader_leave();
    memcpy(&fn, &sym, sizeof sym);
    return shim_set_errno(err) ? fn : NULL;
}

/*** FreeLibrary (shim kernel32) ***/
BOOL WINAPI FreeLibrary(HMODULE hLibModule)
{
    int err = 0;

    if (!hLibModule) {
        SetLastError(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    shim__loader_enter();
    if (!shim__module_valid(hLibModule)) {
        err = SHIM_E_MOD_NOT_FOUND;
    } else if (!hLibModule->builtin && --hLibModule->refs == 0) {
        if (hLibModule->dllmain)
            hLibModule->dllmain(hLibModule, DLL_PROCESS_DETACH, NULL);
        shim__destroy(hLibModule);
    }
    shim__loader_leave();
    return shim_set_errno(err);
}

/*** GetModuleFileNameA (shim kernel32) ***/
DWORD WINAPI GetModuleFileNameA(HMODULE hModule, LPSTR lpFilename, DWORD nSize)
{
    DWORD len = 0;
    int err = 0;

    shim__loader_enter();
    if (!hModule)
        hModule = &shim_exe_module;
    if (!shim__module_valid(hModule)) {
        err = SHIM_E_MOD_NOT_FOUND;
    } else if (nSize > 0) {
        size_t n = strlen(hModule->path);
        if (n >= nSize) {
            /* Why: since Windows Vista a short buffer gets nSize-1 characters and a NUL,
             * the return value is nSize and the last error ERROR_INSUFFICIENT_BUFFER
             * (Microsoft's GetModuleFileNameA page; XP, and Wine 8, leave no NUL). */
            memcpy(lpFilename, hModule->path, nSize - 1);
            lpFilename[nSize - 1] = '\0';
            len = nSize;
            err = ERANGE;
        } else {
            memcpy(lpFilename, hModule->path, n + 1);
            len = (DWORD)n;
        }
    } else {
        err = ERANGE;
    }
    shim__loader_leave();
    /* Why: unlike most functions, GetModuleFileNameA clears the last error on success on
     * Windows after XP SP3 (Wine's dlls/kernel32/tests/module.c checks it on Windows). */
    if (err == 0)
        SetLastError(ERROR_SUCCESS);
    shim_set_errno(err);
    return len;
}

/*** GetModuleHandleA (shim kernel32) ***/
HMODULE WINAPI GetModuleHandleA(LPCSTR lpModuleName)
{
    char norm[PATH_MAX];
    struct shim_module *found = NULL;
    int err;

    shim__loader_enter();
    if (!lpModuleName) {
        found = &shim_exe_module;
        err = 0;
    } else if ((err = shim__normalize_name(lpModuleName, norm, sizeof norm)) == 0) {
        BOOL has_dir = strchr(norm, '/') != NULL;
        if (!has_dir && shim__is_self_name(norm))
            found = &shim_self_module;
        for (struct shim_module *m = shim_modules; m && !found; m = m->next) {
            if (has_dir ? strcmp(m->path, norm) == 0 || shim__same_stem(m->path, norm)
                        : shim__same_stem(shim__basename(m->path), norm))
                found = m;
        }
        if (!found && (has_dir ? strcmp(norm, shim_exe_module.path) == 0
                               : shim__same_stem(shim__basename(shim_exe_module.path), norm)))
            found = &shim_exe_module;
        if (!found)
            err = SHIM_E_MOD_NOT_FOUND;
    }
    shim__loader_leave();
    return shim_set_errno(err) ? found : NULL;
}

/*** DisableThreadLibraryCalls (shim kernel32) ***/
BOOL WINAPI DisableThreadLibraryCalls(HMODULE hLibModule)
{
    int err = 0;

    /* The shim never sends DLL_THREAD_ATTACH/DETACH, so there is nothing to disable; the
     * call still validates its module like Windows. */
    shim__loader_enter();
    if (!shim__module_valid(hLibModule))
        err = SHIM_E_MOD_NOT_FOUND;
    shim__loader_leave();
    return shim_set_errno(err);
}
