/*
 * codepage.c - MultiByteToWideChar and WideCharToMultiByte.
 *
 * Decision: the ANSI and OEM code pages (CP_ACP, CP_OEMCP) are UTF-8 on POSIX, as on
 * Windows 10 1903+ with the UTF-8 "active code page". POSIX file names, environment and
 * terminals are UTF-8, so a filter's ANSI strings round-trip with the rest of the system;
 * ASCII behaves identically to Windows-1252. Other code pages fail with
 * ERROR_INVALID_PARAMETER, as Windows does for a code page that is not installed.
 *
 * UTF-8 follows Windows (Vista and later): an invalid or overlong sequence, an encoded
 * surrogate or a value above U+10FFFF becomes U+FFFD, or fails the whole call with
 * ERROR_NO_UNICODE_TRANSLATION under MB_ERR_INVALID_CHARS; a lone UTF-16 surrogate becomes
 * U+FFFD (EF BF BD), or fails under WC_ERR_INVALID_CHARS. A length of -1 includes the
 * terminating NUL in the conversion and in the result; an output size of 0 asks for the
 * required size; a too-small output fails with ERROR_INSUFFICIENT_BUFFER.
 */
#include <errno.h>
#include <string.h>

#include "shim_private.h"

static BOOL shim__is_utf8_cp(UINT cp)
{
    return cp == CP_UTF8 || cp == CP_ACP || cp == CP_OEMCP;
}

/* Decodes one UTF-8 sequence of at most `len` bytes; returns bytes used (>= 1) and the
 * code point in *cp, or -1 (using one byte) for an invalid sequence. */
static int shim__utf8_decode(const unsigned char *s, size_t len, DWORD *cp)
{
    unsigned char c = s[0];
    int n;
    DWORD v, min;

    if (c < 0x80) { *cp = c; return 1; }
    if (c >= 0xC2 && c <= 0xDF) { n = 2; v = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; v = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; v = c & 0x07; min = 0x10000; }
    else return -1;
    if ((size_t)n > len)
        return -1;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return -1;
    *cp = v;
    return n;
}

static int shim__mb_to_wc(const unsigned char *src, size_t srclen, DWORD flags, WCHAR *dst,
                          size_t dstlen, size_t *out)
{
    size_t i = 0, n = 0;

    while (i < srclen) {
        DWORD cp;
        int used = shim__utf8_decode(src + i, srclen - i, &cp);
        if (used < 0) {
            if (flags & MB_ERR_INVALID_CHARS)
                return EILSEQ;
            cp = 0xFFFD;
            used = 1;
        }
        i += (size_t)used;
        size_t units = cp >= 0x10000 ? 2 : 1;
        if (dstlen) {
            if (n + units > dstlen)
                return ERANGE;
            if (units == 2) {
                dst[n] = (WCHAR)(0xD800 + ((cp - 0x10000) >> 10));
                dst[n + 1] = (WCHAR)(0xDC00 + ((cp - 0x10000) & 0x3FF));
            } else {
                dst[n] = (WCHAR)cp;
            }
        }
        n += units;
    }
    *out = n;
    return 0;
}

/*** MultiByteToWideChar (shim kernel32) ***/
int WINAPI MultiByteToWideChar(UINT CodePage, DWORD dwFlags, LPCSTR lpMultiByteStr,
                               int cbMultiByte, LPWSTR lpWideCharStr, int cchWideChar)
{
    size_t srclen, out = 0;
    int err;

    if (!lpMultiByteStr || cbMultiByte == 0 || cchWideChar < 0 ||
        (cchWideChar && (!lpWideCharStr || (const void *)lpMultiByteStr == (void *)lpWideCharStr))) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return 0;
    }
    if (!shim__is_utf8_cp(CodePage)) {
        SHIM_FIXME("only CP_UTF8 (and CP_ACP/CP_OEMCP as UTF-8) are available");
        SetLastError(ERROR_INVALID_PARAMETER);
        return 0;
    }
    if (CodePage == CP_UTF8 && (dwFlags & ~(DWORD)MB_ERR_INVALID_CHARS)) {
        SetLastError(ERROR_INVALID_FLAGS);
        return 0;
    }
    srclen = cbMultiByte < 0 ? strlen(lpMultiByteStr) + 1 : (size_t)cbMultiByte;
    err = shim__mb_to_wc((const unsigned char *)lpMultiByteStr, srclen, dwFlags,
                         lpWideCharStr, (size_t)cchWideChar, &out);
    return shim_set_errno(err) ? (int)out : 0;
}

static int shim__wc_to_mb(const WCHAR *src, size_t srclen, DWORD flags, char *dst,
                          size_t dstlen, size_t *out)
{
    size_t i = 0, n = 0;

    while (i < srclen) {
        DWORD cp = src[i++];
        if (cp >= 0xD800 && cp <= 0xDBFF && i < srclen && src[i] >= 0xDC00 && src[i] <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (src[i++] - 0xDC00u);
        } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            if (flags & WC_ERR_INVALID_CHARS)
                return EILSEQ;
            cp = 0xFFFD;
        }
        unsigned char buf[4];
        size_t len;
        if (cp < 0x80) {
            buf[0] = (unsigned char)cp;
            len = 1;
        } else if (cp < 0x800) {
            buf[0] = (unsigned char)(0xC0 | (cp >> 6));
            buf[1] = (unsigned char)(0x80 | (cp & 0x3F));
            len = 2;
        } else if (cp < 0x10000) {
            buf[0] = (unsigned char)(0xE0 | (cp >> 12));
            buf[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            buf[2] = (unsigned char)(0x80 | (cp & 0x3F));
            len = 3;
        } else {
            buf[0] = (unsigned char)(0xF0 | (cp >> 18));
            buf[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
            buf[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            buf[3] = (unsigned char)(0x80 | (cp & 0x3F));
            len = 4;
        }
        if (dstlen) {
            if (n + len > dstlen)
                return ERANGE;
            memcpy(dst + n, buf, len);
        }
        n += len;
    }
    *out = n;
    return 0;
}

/*** WideCharToMultiByte (shim kernel32) ***/
int WINAPI WideCharToMultiByte(UINT CodePage, DWORD dwFlags, LPCWSTR lpWideCharStr,
                               int cchWideChar, LPSTR lpMultiByteStr, int cbMultiByte,
                               LPCSTR lpDefaultChar, LPBOOL lpUsedDefaultChar)
{
    size_t srclen = 0, out = 0;
    int err;

    if (!lpWideCharStr || cchWideChar == 0 || cbMultiByte < 0 ||
        (cbMultiByte && (!lpMultiByteStr || (const void *)lpWideCharStr == (void *)lpMultiByteStr))) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return 0;
    }
    if (!shim__is_utf8_cp(CodePage)) {
        SHIM_FIXME("only CP_UTF8 (and CP_ACP/CP_OEMCP as UTF-8) are available");
        SetLastError(ERROR_INVALID_PARAMETER);
        return 0;
    }
    /* Why: MS docs say CP_UTF8 with lpDefaultChar/lpUsedDefaultChar fails with
     * ERROR_INVALID_PARAMETER, but Wine (the conformance reference here) ignores them;
     * UTF-8 never needs a default character, so the shim ignores them too. */
    if (CodePage == CP_UTF8 && (dwFlags & ~(DWORD)WC_ERR_INVALID_CHARS)) {
        SetLastError(ERROR_INVALID_FLAGS);
        return 0;
    }
    if (cchWideChar < 0) {
        while (lpWideCharStr[srclen])
            srclen++;
        srclen++;
    } else {
        srclen = (size_t)cchWideChar;
    }
    err = shim__wc_to_mb(lpWideCharStr, srclen, dwFlags, lpMultiByteStr, (size_t)cbMultiByte, &out);
    return shim_set_errno(err) ? (int)out : 0;
}
