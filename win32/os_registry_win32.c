/*
 * os_registry_win32.c - registry values for filters on Windows.
 *
 * The configuration's .reg file (REGEDIT4 or "Windows Registry Editor Version 5.00") is
 * applied to the real registry with RegCreateKeyExA/RegSetValueExA, so filters read the
 * values with their own advapi32 calls exactly as under IIS. Under Wine that is the
 * prefix's registry. Writing HKEY_LOCAL_MACHINE needs administrator rights on Windows; the
 * error then names the key. Supported value forms are those the shim reads natively:
 * "Name"="string" (with \\ and \" escapes), "Name"=dword:0000000a, and @ for the default
 * value. A 32-bit server writes where 32-bit filters read (WOW64 redirection applies to
 * both alike).
 */
#include "registry.h"

#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static HKEY root_key(const char *name, size_t len)
{
    static const struct { const char *name; HKEY key; } roots[] = {
        { "HKEY_LOCAL_MACHINE", HKEY_LOCAL_MACHINE }, { "HKLM", HKEY_LOCAL_MACHINE },
        { "HKEY_CURRENT_USER", HKEY_CURRENT_USER },   { "HKCU", HKEY_CURRENT_USER },
        { "HKEY_CLASSES_ROOT", HKEY_CLASSES_ROOT },   { "HKEY_USERS", HKEY_USERS },
    };
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++)
        if (strlen(roots[i].name) == len && _strnicmp(roots[i].name, name, len) == 0)
            return roots[i].key;
    return NULL;
}

/* Reads a quoted string at *p (after the opening quote) into out; returns the end or NULL. */
static char *read_quoted(char *p, char *out, size_t outlen)
{
    size_t n = 0;
    while (*p && *p != '"') {
        char ch = *p++;
        if (ch == '\\') {
            if (*p != '\\' && *p != '"')
                return NULL;
            ch = *p++;
        }
        if (n + 1 >= outlen)
            return NULL;
        out[n++] = ch;
    }
    if (*p != '"')
        return NULL;
    out[n] = '\0';
    return p + 1;
}

int host_registry_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: registry: cannot open the file", path);
        return -1;
    }
    char line[4096], name[512], value[2048];
    HKEY key = NULL;
    unsigned lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = line;
        if (lineno == 1 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB
            && (unsigned char)s[2] == 0xBF)
            s += 3;   /* UTF-8 byte order mark */
        size_t len = strlen(s);
        while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
            s[--len] = '\0';
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '\0' || *s == ';' || strcmp(s, "REGEDIT4") == 0
            || strncmp(s, "Windows Registry Editor", 23) == 0)
            continue;
        if (*s == '[') {
            char *close = strrchr(s, ']');
            char *slash = strchr(s, '\\');
            if (key)
                RegCloseKey(key);
            key = NULL;
            if (!close || !slash || slash > close) {
                snprintf(err, errlen, "%s:%u: registry: expected [ROOT\\key\\path]", path, lineno);
                rc = -1;
                break;
            }
            *close = '\0';
            HKEY root = root_key(s + 1, (size_t)(slash - s - 1));
            if (!root) {
                snprintf(err, errlen, "%s:%u: registry: unknown root key", path, lineno);
                rc = -1;
                break;
            }
            LONG r = RegCreateKeyExA(root, slash + 1, 0, NULL, 0, KEY_SET_VALUE, NULL, &key, NULL);
            if (r != ERROR_SUCCESS) {
                snprintf(err, errlen, "%s:%u: registry: cannot create key %s (error %ld)", path,
                         lineno, slash + 1, (long)r);
                key = NULL;
                rc = -1;
                break;
            }
            continue;
        }
        if (!key) {
            snprintf(err, errlen, "%s:%u: registry: a value before any [key]", path, lineno);
            rc = -1;
            break;
        }
        char *p;
        if (*s == '@') {
            name[0] = '\0';
            p = s + 1;
        } else if (*s == '"') {
            p = read_quoted(s + 1, name, sizeof name);
        } else {
            p = NULL;
        }
        if (!p || *p != '=') {
            snprintf(err, errlen, "%s:%u: registry: expected \"Name\"=value", path, lineno);
            rc = -1;
            break;
        }
        p++;
        LONG r;
        if (*p == '"') {
            if (!read_quoted(p + 1, value, sizeof value)) {
                snprintf(err, errlen, "%s:%u: registry: malformed string value", path, lineno);
                rc = -1;
                break;
            }
            r = RegSetValueExA(key, name, 0, REG_SZ, (const BYTE *)value, (DWORD)strlen(value) + 1);
        } else if (_strnicmp(p, "dword:", 6) == 0) {
            char *end;
            unsigned long v = strtoul(p + 6, &end, 16);
            if (end == p + 6 || *end != '\0' || end - (p + 6) > 8) {
                snprintf(err, errlen, "%s:%u: registry: dword needs 1 to 8 hex digits", path, lineno);
                rc = -1;
                break;
            }
            DWORD d = (DWORD)v;
            r = RegSetValueExA(key, name, 0, REG_DWORD, (const BYTE *)&d, sizeof d);
        } else {
            snprintf(err, errlen, "%s:%u: registry: only string and dword values are supported",
                     path, lineno);
            rc = -1;
            break;
        }
        if (r != ERROR_SUCCESS) {
            snprintf(err, errlen, "%s:%u: registry: cannot set the value (error %ld)", path,
                     lineno, (long)r);
            rc = -1;
            break;
        }
    }
    if (key)
        RegCloseKey(key);
    fclose(f);
    return rc;
}
