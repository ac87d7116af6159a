/*
 * profile.c - GetPrivateProfileStringA and GetPrivateProfileIntA over .ini files.
 *
 * The file is read and parsed on every call (filters read their settings once, at load),
 * so there is no cache to go stale. Parsing follows Windows/Wine: leading and trailing
 * blanks are trimmed from every line, `[name]` starts a section, `key=value` is an entry
 * (key and value trimmed), a line without `=` is a key with an empty value, lines starting
 * with ';' are comments, and entries before the first section belong to a section named
 * "". Section and key names compare case-insensitively; the first match wins.
 *
 * Results follow the documented rules: the return value is the number of characters
 * copied, NUL excluded. A value or default that does not fit is cut to nSize-1 characters
 * and returns nSize-1. A NULL section lists section names, a NULL key lists the section's
 * keys, each NUL-terminated with one more NUL at the end; a list that does not fit is cut
 * and returns nSize-2. A value enclosed in matching single or double quotes loses them.
 * The default loses trailing blanks. A missing file behaves like an empty one and sets
 * ERROR_FILE_NOT_FOUND.
 *
 * Decision: a file name without a directory is looked up relative to the current
 * directory (Windows would look in %WINDIR%, which has no POSIX counterpart).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim_private.h"

struct shim_ini_entry {
    const char *section, *key, *value;   /* pointers into the file buffer */
};

struct shim_ini {
    char *text;
    struct shim_ini_entry *entries;      /* key == NULL: a section header */
    size_t count;
};

char *shim__trim(char *s)
{
    char *end;
    while (*s == ' ' || *s == '\t')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        *--end = '\0';
    return s;
}

static int shim__ini_load(const char *path, struct shim_ini *ini)
{
    FILE *f = fopen(path, "rb");
    long size;
    const char *section = "";

    memset(ini, 0, sizeof *ini);
    if (!f)
        return errno;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return EIO;
    }
    ini->text = malloc((size_t)size + 1);
    ini->entries = malloc(((size_t)size / 2 + 2) * sizeof *ini->entries);
    if (!ini->text || !ini->entries) {
        fclose(f);
        return ENOMEM;
    }
    size = (long)fread(ini->text, 1, (size_t)size, f);
    fclose(f);
    ini->text[size] = '\0';

    for (char *line = ini->text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        line = shim__trim(line);
        if (!*line || *line == ';')
            continue;
        struct shim_ini_entry *e = &ini->entries[ini->count];
        if (*line == '[') {
            char *end = strrchr(line, ']');
            if (end)
                *end = '\0';
            section = shim__trim(line + 1);
            e->section = section;
            e->key = NULL;
            ini->count++;
            continue;
        }
        char *eq = strchr(line, '=');
        if (eq) {
            *eq = '\0';
            e->value = shim__trim(eq + 1);
        } else {
            e->value = "";
        }
        e->section = section;
        e->key = shim__trim(line);
        ini->count++;
    }
    return 0;
}

static void shim__ini_free(struct shim_ini *ini)
{
    free(ini->text);
    free(ini->entries);
}

/* Appends one list element; returns FALSE once the buffer is full. Keeps room for the
 * final NUL of the list. */
static BOOL shim__list_add(char *buf, DWORD size, DWORD *pos, const char *s)
{
    size_t n = strlen(s);
    if (*pos + n + 2 > size) {
        size_t room = size - *pos - 2;
        memcpy(buf + *pos, s, room);
        *pos += (DWORD)room;
        buf[(*pos)++] = '\0';
        return FALSE;
    }
    memcpy(buf + *pos, s, n + 1);
    *pos += (DWORD)n + 1;
    return TRUE;
}

static DWORD shim__copy_value(char *buf, DWORD size, const char *s, size_t n)
{
    if (n >= size)
        n = size - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return (DWORD)n;
}

/*** GetPrivateProfileStringA (shim kernel32) ***/
DWORD WINAPI GetPrivateProfileStringA(LPCSTR lpAppName, LPCSTR lpKeyName, LPCSTR lpDefault,
                                      LPSTR lpReturnedString, DWORD nSize, LPCSTR lpFileName)
{
    struct shim_ini ini;
    DWORD pos = 0, ret;
    int err;

    if (!lpReturnedString || nSize == 0)
        return 0;
    if (!lpFileName) {
        SHIM_FIXME("there is no win.ini; a NULL file name reads nothing");
        lpFileName = "";
    }
    err = shim__ini_load(lpFileName, &ini);
    if (err && err != ENOENT && err != ENOTDIR && err != EACCES) {
        shim__ini_free(&ini);
        shim_set_errno(err);
        return 0;
    }

    if (!lpAppName || !lpKeyName) {
        BOOL fits = TRUE;
        if (nSize < 2) {
            lpReturnedString[0] = '\0';
            shim__ini_free(&ini);
            return 0;
        }
        for (size_t i = 0; i < ini.count && fits; i++) {
            const struct shim_ini_entry *e = &ini.entries[i];
            if (!lpAppName) {
                if (!e->key)
                    fits = shim__list_add(lpReturnedString, nSize, &pos, e->section);
            } else if (e->key && shim__strcasecmp(e->section, lpAppName) == 0) {
                fits = shim__list_add(lpReturnedString, nSize, &pos, e->key);
            }
        }
        lpReturnedString[pos] = '\0';
        shim__ini_free(&ini);
        /* Why: a list cut short reports nSize-2 (MS docs, GetPrivateProfileString). */
        shim_set_errno(err);
        return fits ? pos : nSize - 2;
    }

    for (size_t i = 0; i < ini.count; i++) {
        const struct shim_ini_entry *e = &ini.entries[i];
        if (e->key && shim__strcasecmp(e->section, lpAppName) == 0 &&
            shim__strcasecmp(e->key, lpKeyName) == 0) {
            size_t n = strlen(e->value);
            const char *v = e->value;
            if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
                v++;
                n -= 2;
            }
            ret = shim__copy_value(lpReturnedString, nSize, v, n);
            shim__ini_free(&ini);
            return ret;
        }
    }
    shim__ini_free(&ini);

    const char *def = lpDefault ? lpDefault : "";
    size_t n = strlen(def);
    while (n > 0 && def[n - 1] == ' ')
        n--;
    ret = shim__copy_value(lpReturnedString, nSize, def, n);
    shim_set_errno(err ? err : ENOENT);
    return ret;
}

/*** GetPrivateProfileIntA (shim kernel32) ***/
UINT WINAPI GetPrivateProfileIntA(LPCSTR lpAppName, LPCSTR lpKeyName, INT nDefault, LPCSTR lpFileName)
{
    char buf[64];
    const char *p = buf;
    ULONG value = 0;
    BOOL neg = FALSE;
    UINT base = 10;

    if (!lpAppName || !lpKeyName)
        return (UINT)nDefault;
    if (GetPrivateProfileStringA(lpAppName, lpKeyName, "", buf, sizeof buf, lpFileName) == 0)
        return (UINT)nDefault;
    /* Why: Windows parses like RtlCharToInteger: blanks, a sign, an optional 0x/0o/0b
     * prefix, then digits up to the first character that is not one ("12abc" is 12,
     * "abc" is 0). */
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) { base = 16; p += 2; }
    else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O')) { base = 8; p += 2; }
    else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B')) { base = 2; p += 2; }
    for (;; p++) {
        UINT d;
        if (*p >= '0' && *p <= '9') d = (UINT)(*p - '0');
        else if (*p >= 'a' && *p <= 'f') d = (UINT)(*p - 'a' + 10);
        else if (*p >= 'A' && *p <= 'F') d = (UINT)(*p - 'A' + 10);
        else break;
        if (d >= base)
            break;
        value = value * base + d;
    }
    return neg ? (UINT)(0u - value) : (UINT)value;
}
