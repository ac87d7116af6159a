/*
 * shim_modules.c - conformance tests for module loading: LoadLibraryA/ExA, GetProcAddress,
 * FreeLibrary, GetModuleFileNameA, GetModuleHandleA, DllMain, and a real ISAPI filter
 * (shim_testfilter) that reads its .ini from DllMain.
 *
 * Usage: shim_modules <filter file name> <failing filter file name>; both files sit beside
 * the executable (shim_testfilter.so natively, shim_testfilter.dll on Windows).
 */
#include "shimtest.h"
#include <httpfilt.h>

typedef LONG (WINAPI *attach_count_fn)(void);
typedef DWORD (WINAPI *last_error_fn)(void);
typedef HINSTANCE (WINAPI *module_fn)(void);
typedef LPCSTR (WINAPI *string_fn)(void);
typedef void (WINAPI *set_counter_fn)(LONG volatile *);
typedef BOOL (WINAPI *get_filter_version_fn)(PHTTP_FILTER_VERSION);
typedef DWORD (WINAPI *http_filter_proc_fn)(PHTTP_FILTER_CONTEXT, DWORD, LPVOID);

static char dir[MAX_PATH], filter_path[MAX_PATH], fail_path[MAX_PATH];
static LONG volatile detach_count;
static char added_headers[256];

/* The two function-pointer casts every GetProcAddress user writes. */
#define PROC(h, name, type) ((type)(void (*)(void))GetProcAddress((h), (name)))

static BOOL WINAPI add_response_headers(PHTTP_FILTER_CONTEXT pfc, LPSTR headers, DWORD reserved)
{
    lstrcatA(added_headers, headers);
    return TRUE;
}

static void test_load_failures(void)
{
    char path[MAX_PATH];
    HMODULE h;

    SetLastError(0xdeadbeef);
    h = LoadLibraryA(NULL);
    ok(h == NULL, "LoadLibraryA(NULL) succeeded\n");

    lstrcpyA(path, dir);
    lstrcatA(path, "no_such_module.dll");
    SetLastError(0xdeadbeef);
    h = LoadLibraryA(path);
    ok(h == NULL, "loading a missing module succeeded\n");
    ok(GetLastError() == ERROR_MOD_NOT_FOUND, "missing module: got %lu\n", (unsigned long)GetLastError());

    /* The .ini exists but is no module. */
    lstrcpyA(path, dir);
    lstrcatA(path, "shim_testfilter.ini");
    SetLastError(0xdeadbeef);
    h = LoadLibraryA(path);
    ok(h == NULL, "loading a text file succeeded\n");
    ok(GetLastError() == ERROR_BAD_EXE_FORMAT, "text file: got %lu\n", (unsigned long)GetLastError());

    SetLastError(0xdeadbeef);
    h = LoadLibraryA(fail_path);
    ok(h == NULL, "a DllMain returning FALSE still loaded\n");
    ok(GetLastError() == ERROR_DLL_INIT_FAILED, "failing DllMain: got %lu\n", (unsigned long)GetLastError());
    SetLastError(0xdeadbeef);
    ok(GetModuleHandleA("shim_testfilter_fail.dll") == NULL, "a module whose DllMain failed stays loaded\n");
    ok(GetLastError() == ERROR_MOD_NOT_FOUND, "GetModuleHandleA after failed init: got %lu\n",
       (unsigned long)GetLastError());
}

static void test_filter(void)
{
    HMODULE h, h2, h3;
    char name[MAX_PATH], noext[MAX_PATH];
    DWORD len, load_error;

    SetLastError(0xdeadbeef);
    h = LoadLibraryA(filter_path);
    ok(h != NULL, "LoadLibraryA(%s) failed: %lu\n", filter_path, (unsigned long)GetLastError());
    if (!h)
        return;
    load_error = GetLastError();

    attach_count_fn attach_count = PROC(h, "ShimTestAttachCount", attach_count_fn);
    last_error_fn attach_error = PROC(h, "ShimTestAttachLastError", last_error_fn);
    /* DllMain runs on the loading thread, so its calls set this thread's last error; a
     * successful LoadLibraryA adds nothing after that. */
    ok(attach_error && load_error == attach_error(),
       "LoadLibraryA success: last error %lu, DllMain left %lu\n", (unsigned long)load_error,
       attach_error ? (unsigned long)attach_error() : 0ul);
    module_fn module = PROC(h, "ShimTestModule", module_fn);
    string_fn greeting = PROC(h, "ShimTestGreeting", string_fn);
    string_fn ini_path = PROC(h, "ShimTestIniPath", string_fn);
    set_counter_fn set_counter = PROC(h, "ShimTestSetDetachCounter", set_counter_fn);
    ok(attach_count && module && greeting && ini_path && set_counter, "missing test exports\n");
    if (!attach_count || !module || !greeting || !ini_path || !set_counter)
        return;
    set_counter(&detach_count);
    ok(attach_count() == 1, "DllMain attach count %ld\n", (long)attach_count());
    ok(module() == h, "DllMain got hinst %p, LoadLibraryA returned %p\n", (void *)module(), (void *)h);
    ok(strcmp(greeting(), "hello from the ini") == 0, "greeting from the .ini: got \"%s\" (ini %s)\n",
       greeting(), ini_path());

    /* GetProcAddress failures */
    SetLastError(0xdeadbeef);
    ok(GetProcAddress(h, "NoSuchExport") == NULL, "GetProcAddress found NoSuchExport\n");
    ok(GetLastError() == ERROR_PROC_NOT_FOUND, "NoSuchExport: got %lu\n", (unsigned long)GetLastError());
    SetLastError(0xdeadbeef);
    ok(GetProcAddress(h, "GetLastError") == NULL, "GetProcAddress found an import as an export\n");
    ok(GetLastError() == ERROR_PROC_NOT_FOUND, "import name: got %lu\n", (unsigned long)GetLastError());
    SetLastError(0xdeadbeef);
    ok(GetProcAddress(h, "ShimTestAttachCount") != NULL && GetLastError() == 0xdeadbeef,
       "GetProcAddress success changed the last error to %lu\n", (unsigned long)GetLastError());

    /* The filter entry points work as a host calls them. */
    get_filter_version_fn gfv = PROC(h, "GetFilterVersion", get_filter_version_fn);
    http_filter_proc_fn hfp = PROC(h, "HttpFilterProc", http_filter_proc_fn);
    ok(gfv && hfp && GetProcAddress(h, "TerminateFilter"), "filter exports missing\n");
    if (gfv && hfp) {
        HTTP_FILTER_VERSION ver;
        HTTP_FILTER_CONTEXT fc;
        memset(&ver, 0, sizeof ver);
        ver.dwServerFilterVersion = HTTP_FILTER_REVISION;
        ok(gfv(&ver), "GetFilterVersion failed\n");
        ok(strcmp(ver.lpszFilterDesc, "hello from the ini") == 0, "description \"%s\"\n", ver.lpszFilterDesc);
        ok(ver.dwFlags == (SF_NOTIFY_ORDER_DEFAULT | SF_NOTIFY_PREPROC_HEADERS), "flags %lx\n",
           (unsigned long)ver.dwFlags);
        memset(&fc, 0, sizeof fc);
        fc.cbSize = sizeof fc;
        fc.AddResponseHeaders = add_response_headers;
        ok(hfp(&fc, SF_NOTIFY_PREPROC_HEADERS, NULL) == SF_STATUS_REQ_NEXT_NOTIFICATION, "HttpFilterProc\n");
        ok(strcmp(added_headers, "X-Shim-Greeting: hello from the ini\r\n") == 0, "headers \"%s\"\n",
           added_headers);
    }

    /* File name, truncation */
    SetLastError(0xdeadbeef);
    len = GetModuleFileNameA(h, name, sizeof name);
    ok(len > 0 && len == strlen(name), "GetModuleFileNameA returned %lu for \"%s\"\n", (unsigned long)len, name);
    ok(lstrcmpiA(name, filter_path) == 0, "module file name \"%s\", loaded \"%s\"\n", name, filter_path);
    /* Windows after XP SP3 (and Wine) clear the last error on success. */
    ok(GetLastError() == ERROR_SUCCESS || broken(GetLastError() == 0xdeadbeef),
       "GetModuleFileNameA success: got %lu\n", (unsigned long)GetLastError());
    memset(name, 'x', sizeof name);
    SetLastError(0xdeadbeef);
    len = GetModuleFileNameA(h, name, 5);
    ok(len == 5, "truncated GetModuleFileNameA returned %lu\n", (unsigned long)len);
    ok(GetLastError() == ERROR_INSUFFICIENT_BUFFER, "truncated: got %lu\n", (unsigned long)GetLastError());
    /* Vista and later terminate the truncated name; XP and Wine copy nSize characters. */
    ok(strncmp(name, filter_path, 4) == 0
       && (name[4] == '\0' || broken(name[4] == filter_path[4])
           || wine_variance(name[4] == filter_path[4])),
       "truncated name \"%.5s\"\n", name);

    SetLastError(0xdeadbeef);
    len = GetModuleFileNameA(NULL, name, sizeof name);
    ok(len > 0 && len == strlen(name), "exe file name: %lu\n", (unsigned long)len);
    ok(strncmp(name, dir, strlen(dir)) == 0, "exe \"%s\" outside \"%s\"\n", name, dir);

    /* Same module again: same handle, one attach, refcounted. Without an extension the
     * platform's own one is appended (.dll on Windows). */
    lstrcpyA(noext, dir);
    lstrcatA(noext, "shim_testfilter");
    SetLastError(0xdeadbeef);
    h2 = LoadLibraryA(filter_path);
    ok(GetLastError() == 0xdeadbeef, "LoadLibraryA of a loaded module changed the last error to %lu\n",
       (unsigned long)GetLastError());
    h3 = LoadLibraryA(noext);
    ok(h2 == h && h3 == h, "reloading gave %p and %p, first load %p\n", (void *)h2, (void *)h3, (void *)h);
    ok(attach_count() == 1, "attach count after reloads %ld\n", (long)attach_count());

    /* GetModuleHandleA: by file name (any case) and by full path; no reference taken. */
    SetLastError(0xdeadbeef);
    ok(GetModuleHandleA("shim_testfilter.dll") == h, "GetModuleHandleA by name failed: %lu\n",
       (unsigned long)GetLastError());
    ok(GetModuleHandleA("SHIM_TESTFILTER") == h, "GetModuleHandleA is case-sensitive or needs the extension\n");
    ok(GetModuleHandleA(filter_path) == h, "GetModuleHandleA by path failed\n");
    ok(GetModuleHandleA(NULL) != NULL, "GetModuleHandleA(NULL) failed\n");
    SetLastError(0xdeadbeef);
    ok(GetModuleHandleA("not_loaded_at_all.dll") == NULL, "found a module never loaded\n");
    ok(GetLastError() == ERROR_MOD_NOT_FOUND, "not loaded: got %lu\n", (unsigned long)GetLastError());

    /* Three references: two frees keep it, the third detaches and unloads. */
    ok(FreeLibrary(h), "FreeLibrary 1 failed\n");
    ok(FreeLibrary(h), "FreeLibrary 2 failed\n");
    ok(detach_count == 0, "detached with references left (%ld)\n", (long)detach_count);
    ok(GetModuleHandleA("shim_testfilter.dll") == h, "module gone with references left\n");
    ok(FreeLibrary(h), "FreeLibrary 3 failed\n");
    ok(detach_count == 1, "detach count after the last FreeLibrary: %ld\n", (long)detach_count);
    SetLastError(0xdeadbeef);
    ok(GetModuleHandleA("shim_testfilter.dll") == NULL, "module still loaded after the last FreeLibrary\n");
    ok(GetLastError() == ERROR_MOD_NOT_FOUND, "after unload: got %lu\n", (unsigned long)GetLastError());

    /* Loaded again: a fresh attach. */
    h = LoadLibraryA(filter_path);
    ok(h != NULL, "reload after unload failed: %lu\n", (unsigned long)GetLastError());
    if (h) {
        attach_count = PROC(h, "ShimTestAttachCount", attach_count_fn);
        ok(attach_count && attach_count() == 1, "attach count after a fresh load\n");
        ok(FreeLibrary(h), "FreeLibrary after reload failed\n");
    }

    SetLastError(0xdeadbeef);
    ok(!FreeLibrary(NULL), "FreeLibrary(NULL) succeeded\n");
    ok(GetLastError() == ERROR_INVALID_HANDLE, "FreeLibrary(NULL): got %lu\n", (unsigned long)GetLastError());
}

static void test_system_modules(void)
{
    HMODULE k32;
    HMODULE h;

    SetLastError(0xdeadbeef);
    k32 = GetModuleHandleA("kernel32.dll");
    ok(k32 != NULL, "GetModuleHandleA(kernel32.dll) failed: %lu\n", (unsigned long)GetLastError());
    ok(GetProcAddress(k32, "GetLastError") != NULL, "kernel32 has no GetLastError\n");
    SetLastError(0xdeadbeef);
    ok(GetProcAddress(k32, "NoSuchFunctionAnywhere") == NULL, "found NoSuchFunctionAnywhere\n");
    ok(GetLastError() == ERROR_PROC_NOT_FOUND, "got %lu\n", (unsigned long)GetLastError());
    h = LoadLibraryA("KERNEL32");
    ok(h == k32, "LoadLibraryA(KERNEL32) gave %p, GetModuleHandleA %p\n", (void *)h, (void *)k32);
    ok(FreeLibrary(h), "FreeLibrary(kernel32) failed\n");
    SetLastError(0xdeadbeef);
    ok(DisableThreadLibraryCalls(k32), "DisableThreadLibraryCalls failed: %lu\n", (unsigned long)GetLastError());
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        printf("usage: shim_modules <filter file> <failing filter file>\n");
        return 2;
    }
    shimtest_exe_dir(dir, sizeof dir);
    lstrcpyA(filter_path, dir);
    lstrcatA(filter_path, argv[1]);
    lstrcpyA(fail_path, dir);
    lstrcatA(fail_path, argv[2]);

    test_load_failures();
    test_filter();
    test_system_modules();
    return shimtest_done("shim_modules");
}
