/*
 * shim_strings.c - conformance tests for the ANSI string functions: lstr*A, wsprintfA
 * (user32), the MSVC runtime's _stricmp/_strnicmp/_snprintf, MultiByteToWideChar and
 * WideCharToMultiByte, and GetEnvironmentVariableA.
 */
#include "shimtest.h"
#include <stdlib.h>

static void test_lstr(void)
{
    char buf[16];

    ok(lstrlenA("hello") == 5 && lstrlenA("") == 0 && lstrlenA(NULL) == 0, "lstrlenA\n");
    ok(lstrcpyA(buf, "abc") == buf && strcmp(buf, "abc") == 0, "lstrcpyA\n");
    ok(lstrcatA(buf, "def") == buf && strcmp(buf, "abcdef") == 0, "lstrcatA\n");

    memset(buf, 'x', sizeof buf);
    ok(lstrcpynA(buf, "abcdef", 4) == buf && strcmp(buf, "abc") == 0, "lstrcpynA copied \"%s\"\n", buf);
    memset(buf, 'x', sizeof buf);
    ok(lstrcpynA(buf, "ab", 10) == buf && strcmp(buf, "ab") == 0 && buf[3] == 'x', "lstrcpynA short\n");
    memset(buf, 'x', sizeof buf);
    lstrcpynA(buf, "abc", 1);
    ok(buf[0] == '\0' && buf[1] == 'x', "lstrcpynA(1) wrote \"%.2s\"\n", buf);
    memset(buf, 'x', sizeof buf);
    lstrcpynA(buf, "abc", 0);
    ok(buf[0] == 'x', "lstrcpynA(0) wrote a byte\n");

    ok(lstrcmpA("abc", "abc") == 0, "lstrcmpA equal\n");
    ok(lstrcmpA("abc", "abd") == -1, "lstrcmpA less: %d\n", lstrcmpA("abc", "abd"));
    ok(lstrcmpA("abd", "abc") == 1, "lstrcmpA greater: %d\n", lstrcmpA("abd", "abc"));
    ok(lstrcmpA("a", "B") < 0, "lstrcmpA is not linguistic: a vs B %d\n", lstrcmpA("a", "B"));
    ok(lstrcmpA("a", "A") < 0, "lstrcmpA lowercase first: %d\n", lstrcmpA("a", "A"));
    ok(lstrcmpA("ab", "abc") < 0 && lstrcmpA("", "a") < 0, "lstrcmpA prefix\n");
    ok(lstrcmpiA("HeLLo", "hello") == 0, "lstrcmpiA equal\n");
    ok(lstrcmpiA("apple", "BANANA") == -1, "lstrcmpiA less: %d\n", lstrcmpiA("apple", "BANANA"));
    ok(lstrcmpiA(NULL, NULL) == 0 && lstrcmpiA(NULL, "") == -1 && lstrcmpiA("a", NULL) == 1,
       "lstrcmpiA: NULL sorts before every string\n");

    ok(_stricmp("Content-Type", "content-type") == 0, "_stricmp\n");
    ok(_stricmp("a", "B") < 0 && _stricmp("b", "A") > 0, "_stricmp order\n");
    ok(_strnicmp("HOST: x", "host: y", 5) == 0 && _strnicmp("abc", "abd", 3) < 0, "_strnicmp\n");
}

static void test_snprintf(void)
{
    char buf[8];
    int n;

    memset(buf, 'x', sizeof buf);
    n = _snprintf(buf, 4, "%s", "abcdef");
    ok(n == -1, "truncating _snprintf returned %d\n", n);
    ok(memcmp(buf, "abcd", 4) == 0 && buf[4] == 'x', "truncated output \"%.5s\"\n", buf);
    memset(buf, 'x', sizeof buf);
    n = _snprintf(buf, 4, "%d", 1234);
    ok(n == 4 && memcmp(buf, "1234x", 5) == 0, "exact fit returned %d, \"%.5s\"\n", n, buf);
    n = _snprintf(buf, sizeof buf, "%d-%s", 7, "ok");
    ok(n == 4 && strcmp(buf, "7-ok") == 0, "fitting _snprintf: %d \"%s\"\n", n, buf);
}

static void test_wsprintf(void)
{
    char buf[2048], big[1500];
    DWORD dw = 4000000000u;
    int n;

    n = wsprintfA(buf, "%lu", dw);
    ok(n == 10 && strcmp(buf, "4000000000") == 0, "%%lu with a DWORD: %d \"%s\"\n", n, buf);
    n = wsprintfA(buf, "%lu|%lu", (DWORD)1, (DWORD)2);
    ok(strcmp(buf, "1|2") == 0, "two DWORDs: \"%s\"\n", buf);
    wsprintfA(buf, "%d %i %u", -5, 42, 3000000000u);
    ok(strcmp(buf, "-5 42 3000000000") == 0, "d i u: \"%s\"\n", buf);
    wsprintfA(buf, "%x %X %#x %#X", 255, 255, 255, 255);
    ok(strcmp(buf, "ff FF 0xff 0XFF") == 0, "hex: \"%s\"\n", buf);
    wsprintfA(buf, "[%5d][%-5d][%05d][%.3d][%5.3d]", 42, 42, 42, 7, 7);
    ok(strcmp(buf, "[   42][42   ][00042][007][  007]") == 0, "width/precision: \"%s\"\n", buf);
    wsprintfA(buf, "[%05d]", -42);
    ok(strcmp(buf, "[-0042]") == 0, "zero pad negative: \"%s\"\n", buf);
    wsprintfA(buf, "[%s][%6s][%-6s][%.2s][%c]", "abc", "abc", "abc", "abc", 'z');
    ok(strcmp(buf, "[abc][   abc][abc   ][ab][z]") == 0, "strings: \"%s\"\n", buf);
    wsprintfA(buf, "%s", (char *)NULL);
    ok(strcmp(buf, "(null)") == 0, "NULL string: \"%s\"\n", buf);
    wsprintfA(buf, "%p", (void *)(ULONG_PTR)0xabc);
    ok(strlen(buf) == 2 * sizeof(void *) && strtoul(buf, NULL, 16) == 0xabc && strchr(buf, 'C'),
       "%%p: \"%s\"\n", buf);
    wsprintfA(buf, "100%% %y");
    ok(strcmp(buf, "100% y") == 0, "%%%% and unknown type: \"%s\"\n", buf);
    wsprintfA(buf, "%I64u", (ULONGLONG)12345678901ULL);
    ok(strcmp(buf, "12345678901") == 0, "I64: \"%s\"\n", buf);

    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    n = wsprintfA(buf, "%s", big);
    /* Windows returns the characters stored (1023); Wine returns the buffer size. */
    ok(n == 1023 || wine_variance(n == 1024), "1024-char cap returned %d\n", n);
    ok(strlen(buf) == 1023, "capped output length %lu\n", (unsigned long)strlen(buf));
}

static void test_codepages(void)
{
    static const char utf8[] = "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";   /* A é € U+1F600 */
    static const WCHAR wide[] = { 'A', 0xe9, 0x20ac, 0xd83d, 0xde00, 0 };
    WCHAR wbuf[32];
    char buf[32];
    int n;

    SetLastError(0xdeadbeef);
    n = MultiByteToWideChar(CP_UTF8, 0, utf8, -1, NULL, 0);
    ok(n == 6, "size query returned %d\n", n);
    n = MultiByteToWideChar(CP_UTF8, 0, utf8, -1, wbuf, 32);
    ok(n == 6 && memcmp(wbuf, wide, sizeof wide) == 0, "UTF-8 to UTF-16: %d\n", n);
    n = MultiByteToWideChar(CP_UTF8, 0, utf8, 3, wbuf, 32);
    ok(n == 2 && wbuf[0] == 'A' && wbuf[1] == 0xe9, "explicit length: %d\n", n);
    ok(GetLastError() == 0xdeadbeef, "success changed the last error to %lu\n", (unsigned long)GetLastError());

    SetLastError(0xdeadbeef);
    n = MultiByteToWideChar(CP_UTF8, 0, utf8, -1, wbuf, 3);
    ok(n == 0, "short buffer returned %d\n", n);
    ok(GetLastError() == ERROR_INSUFFICIENT_BUFFER, "short buffer: got %lu\n", (unsigned long)GetLastError());

    SetLastError(0xdeadbeef);
    n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, "a\xff" "b", -1, wbuf, 32);
    ok(n == 0, "invalid UTF-8 with MB_ERR_INVALID_CHARS returned %d\n", n);
    ok(GetLastError() == ERROR_NO_UNICODE_TRANSLATION, "invalid UTF-8: got %lu\n", (unsigned long)GetLastError());
    n = MultiByteToWideChar(CP_UTF8, 0, "a\xff" "b", -1, wbuf, 32);
    ok(n == 4 && wbuf[1] == 0xfffd, "invalid UTF-8 replaced: %d %x\n", n, wbuf[1]);

    SetLastError(0xdeadbeef);
    n = MultiByteToWideChar(CP_UTF8, 0, utf8, 0, wbuf, 32);
    ok(n == 0 && GetLastError() == ERROR_INVALID_PARAMETER, "zero-length source: %d, %lu\n", n,
       (unsigned long)GetLastError());

    n = WideCharToMultiByte(CP_UTF8, 0, wide, -1, NULL, 0, NULL, NULL);
    ok(n == (int)sizeof utf8, "UTF-16 size query returned %d\n", n);
    n = WideCharToMultiByte(CP_UTF8, 0, wide, -1, buf, sizeof buf, NULL, NULL);
    ok(n == (int)sizeof utf8 && strcmp(buf, utf8) == 0, "UTF-16 to UTF-8: %d\n", n);
    SetLastError(0xdeadbeef);
    n = WideCharToMultiByte(CP_UTF8, 0, wide, -1, buf, 4, NULL, NULL);
    ok(n == 0 && GetLastError() == ERROR_INSUFFICIENT_BUFFER, "short UTF-8 buffer: %d, %lu\n", n,
       (unsigned long)GetLastError());
    {
        static const WCHAR lone[] = { 'x', 0xd800, 'y', 0 };
        SetLastError(0xdeadbeef);
        n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, lone, -1, buf, sizeof buf, NULL, NULL);
        ok(n == 0 && GetLastError() == ERROR_NO_UNICODE_TRANSLATION, "lone surrogate: %d, %lu\n", n,
           (unsigned long)GetLastError());
        n = WideCharToMultiByte(CP_UTF8, 0, lone, -1, buf, sizeof buf, NULL, NULL);
        ok(n == 6 && memcmp(buf, "x\xef\xbf\xbdy", 6) == 0, "lone surrogate replaced: %d\n", n);
    }
    {
        BOOL used = 5;
        SetLastError(0xdeadbeef);
        n = WideCharToMultiByte(CP_UTF8, 0, wide, -1, buf, sizeof buf, NULL, &used);
        ok(n == (int)sizeof utf8 && GetLastError() == 0xdeadbeef, "CP_UTF8 with lpUsedDefaultChar: %d, %lu\n", n,
           (unsigned long)GetLastError());
        ok(used == 5 || used == FALSE, "lpUsedDefaultChar set to %d\n", used);
    }

    /* CP_ACP: ASCII round-trips whatever the ANSI code page is. */
    n = MultiByteToWideChar(CP_ACP, 0, "Plain ASCII", -1, wbuf, 32);
    ok(n == 12 && wbuf[0] == 'P' && wbuf[10] == 'I', "CP_ACP to UTF-16: %d\n", n);
    n = WideCharToMultiByte(CP_ACP, 0, wbuf, -1, buf, sizeof buf, NULL, NULL);
    ok(n == 12 && strcmp(buf, "Plain ASCII") == 0, "CP_ACP round trip: %d \"%s\"\n", n, buf);
}

static void test_environment(void)
{
    char buf[64];
    DWORD n;

    /* PATH exists in every environment the tests run in, natively and under Wine. */
    SetLastError(0xdeadbeef);
    n = GetEnvironmentVariableA("PATH", NULL, 0);
    ok(n > 1, "PATH size query returned %lu\n", (unsigned long)n);
    n = GetEnvironmentVariableA("PATH", buf, 2);
    ok(n > 2, "short buffer returned %lu\n", (unsigned long)n);
    SetLastError(0xdeadbeef);
    n = GetEnvironmentVariableA("SHIM_SURELY_NOT_SET_42", buf, sizeof buf);
    ok(n == 0, "missing variable returned %lu\n", (unsigned long)n);
    ok(GetLastError() == ERROR_ENVVAR_NOT_FOUND, "missing variable: got %lu\n", (unsigned long)GetLastError());
}

int main(void)
{
    test_lstr();
    test_snprintf();
    test_wsprintf();
    test_codepages();
    test_environment();
    return shimtest_done("shim_strings");
}
