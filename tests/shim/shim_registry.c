/*
 * shim_registry.c - conformance tests for RegOpenKeyExA, RegQueryValueExA and RegCloseKey
 * against the keys of shim_registry.reg. On Windows (Wine) a CTest fixture imports the
 * file with regedit first; natively the shim reads it directly, the one shim-specific call
 * here (ShimSetRegistryFile, from <shim.h>), with its path from argv[1].
 */
#include "shimtest.h"
#ifndef _WIN32
#include <shim.h>
#endif

#define TEST_KEY "SYSTEM\\CurrentControlSet\\Services\\IsapiHostShimTest\\Parameters"

static void test_open(void)
{
    HKEY key = NULL, sub = NULL, again = NULL;
    LSTATUS rc;

    rc = RegOpenKeyExA(HKEY_LOCAL_MACHINE, TEST_KEY, 0, KEY_READ, &key);
    ok(rc == ERROR_SUCCESS && key != NULL, "RegOpenKeyExA: got %ld\n", (long)rc);
    if (rc != ERROR_SUCCESS)
        return;
    rc = RegOpenKeyExA(key, "filters", 0, KEY_READ, &sub);
    ok(rc == ERROR_SUCCESS, "relative subkey (other case): got %ld\n", (long)rc);
    rc = RegOpenKeyExA(HKEY_LOCAL_MACHINE, "system\\currentcontrolset\\services\\ISAPIHOSTSHIMTEST", 0,
                       KEY_READ, &again);
    ok(rc == ERROR_SUCCESS, "parent key, other case: got %ld\n", (long)rc);
    if (again)
        ok(RegCloseKey(again) == ERROR_SUCCESS, "RegCloseKey\n");

    again = (HKEY)(ULONG_PTR)0xdead;
    rc = RegOpenKeyExA(key, "NoSuchSubkey", 0, KEY_READ, &again);
    ok(rc == ERROR_FILE_NOT_FOUND, "missing key: got %ld\n", (long)rc);
    ok(again == NULL, "missing key left result %p\n", (void *)again);
    rc = RegOpenKeyExA(HKEY_LOCAL_MACHINE, "SYSTEM\\IsapiHostShimTestMissing", 0, KEY_READ, &again);
    ok(rc == ERROR_FILE_NOT_FOUND, "missing key from root: got %ld\n", (long)rc);

    if (sub) {
        char buf[64];
        DWORD size = sizeof buf, type = 0;
        rc = RegQueryValueExA(sub, "Order", NULL, &type, (LPBYTE)buf, &size);
        ok(rc == ERROR_SUCCESS && type == REG_SZ && size == 13 && strcmp(buf, "first,second") == 0,
           "subkey value: %ld type %lu size %lu\n", (long)rc, (unsigned long)type, (unsigned long)size);
        ok(RegCloseKey(sub) == ERROR_SUCCESS, "RegCloseKey(sub)\n");
    }
    ok(RegCloseKey(key) == ERROR_SUCCESS, "RegCloseKey(key)\n");
}

static void test_query(void)
{
    HKEY key;
    char buf[128];
    BYTE blob[8];
    DWORD size, type, dw;
    LSTATUS rc;

    rc = RegOpenKeyExA(HKEY_LOCAL_MACHINE, TEST_KEY, 0, KEY_READ, &key);
    ok(rc == ERROR_SUCCESS, "RegOpenKeyExA: got %ld\n", (long)rc);
    if (rc != ERROR_SUCCESS)
        return;

    size = sizeof buf;
    type = 0xdeadbeef;
    SetLastError(0xdeadbeef);
    rc = RegQueryValueExA(key, "servername", NULL, &type, (LPBYTE)buf, &size);
    ok(rc == ERROR_SUCCESS, "REG_SZ: got %ld\n", (long)rc);
    ok(type == REG_SZ && size == 10 && strcmp(buf, "isapihost") == 0, "REG_SZ type %lu size %lu \"%s\"\n",
       (unsigned long)type, (unsigned long)size, buf);
    ok(GetLastError() == 0xdeadbeef, "registry call changed the last error to %lu\n", (unsigned long)GetLastError());

    size = sizeof buf;
    rc = RegQueryValueExA(key, "Path", NULL, NULL, (LPBYTE)buf, &size);
    ok(rc == ERROR_SUCCESS && strcmp(buf, "C:\\inetpub\\wwwroot \"quoted\"") == 0, "escapes: \"%s\"\n", buf);

    /* size protocol */
    size = 0;
    rc = RegQueryValueExA(key, "ServerName", NULL, &type, NULL, &size);
    ok(rc == ERROR_SUCCESS && size == 10, "size query: %ld, %lu\n", (long)rc, (unsigned long)size);
    size = 4;
    memset(buf, 'x', sizeof buf);
    rc = RegQueryValueExA(key, "ServerName", NULL, &type, (LPBYTE)buf, &size);
    ok(rc == ERROR_MORE_DATA && size == 10, "short buffer: %ld, size %lu\n", (long)rc, (unsigned long)size);
    rc = RegQueryValueExA(key, "ServerName", NULL, &type, (LPBYTE)buf, NULL);
    ok(rc == ERROR_INVALID_PARAMETER, "data without size: got %ld\n", (long)rc);

    size = sizeof dw;
    rc = RegQueryValueExA(key, "MaxConnections", NULL, &type, (LPBYTE)&dw, &size);
    ok(rc == ERROR_SUCCESS && type == REG_DWORD && size == 4 && dw == 6, "REG_DWORD: %ld type %lu value %lu\n",
       (long)rc, (unsigned long)type, (unsigned long)dw);

    size = sizeof blob;
    rc = RegQueryValueExA(key, "Blob", NULL, &type, blob, &size);
    ok(rc == ERROR_SUCCESS && type == REG_BINARY && size == 4 && blob[0] == 1 && blob[3] == 0xff,
       "REG_BINARY: %ld type %lu size %lu\n", (long)rc, (unsigned long)type, (unsigned long)size);

    size = sizeof buf;
    rc = RegQueryValueExA(key, NULL, NULL, &type, (LPBYTE)buf, &size);
    ok(rc == ERROR_SUCCESS && strcmp(buf, "default value") == 0, "default value (NULL): %ld\n", (long)rc);
    size = sizeof buf;
    rc = RegQueryValueExA(key, "", NULL, &type, (LPBYTE)buf, &size);
    ok(rc == ERROR_SUCCESS && strcmp(buf, "default value") == 0, "default value (\"\"): %ld\n", (long)rc);

    size = sizeof buf;
    rc = RegQueryValueExA(key, "NoSuchValue", NULL, &type, (LPBYTE)buf, &size);
    ok(rc == ERROR_FILE_NOT_FOUND, "missing value: got %ld\n", (long)rc);

    ok(RegCloseKey(key) == ERROR_SUCCESS, "RegCloseKey\n");
    ok(RegCloseKey(HKEY_LOCAL_MACHINE) == ERROR_SUCCESS, "RegCloseKey(HKLM)\n");
}

#ifndef _WIN32
/* Shim only: a .reg file with a syntax error is refused and the good registry stays. */
static void test_bad_file(const char *good)
{
    char path[MAX_PATH];
    FILE *f;
    HKEY key;

    shimtest_exe_dir(path, sizeof path);
    lstrcatA(path, "shim_registry_bad.reg");
    f = fopen(path, "wb");
    ok(f != NULL, "cannot write %s\n", path);
    if (!f)
        return;
    fputs("REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\X]\r\n\"Broken\"=word:1\r\n", f);
    fclose(f);
    SetLastError(0xdeadbeef);
    ok(!ShimSetRegistryFile(path), "bad .reg file accepted\n");
    ok(GetLastError() == ERROR_BADDB, "bad .reg file: got %lu\n", (unsigned long)GetLastError());
    ok(strstr(ShimRegistryError(), "shim_registry_bad.reg:4:") != NULL, "error text \"%s\"\n", ShimRegistryError());
    SetLastError(0xdeadbeef);
    ok(!ShimSetRegistryFile("/nonexistent/file.reg"), "missing .reg file accepted\n");
    ok(GetLastError() == ERROR_FILE_NOT_FOUND, "missing .reg file: got %lu\n", (unsigned long)GetLastError());
    ok(RegOpenKeyExA(HKEY_LOCAL_MACHINE, TEST_KEY, 0, KEY_READ, &key) == ERROR_SUCCESS,
       "failed loads dropped the good registry (%s)\n", good);
    RegCloseKey(key);
}
#endif

int main(int argc, char **argv)
{
#ifndef _WIN32
    if (argc < 2) {
        printf("usage: shim_registry <file.reg>\n");
        return 2;
    }
    if (!ShimSetRegistryFile(argv[1])) {
        printf("ShimSetRegistryFile(%s) failed: %lu %s\n", argv[1], (unsigned long)GetLastError(),
               ShimRegistryError());
        return 1;
    }
#endif
#ifndef _WIN32
    test_bad_file(argv[1]);
#endif
    test_open();
    test_query();
    return shimtest_done("shim_registry");
}
