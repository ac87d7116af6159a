/*
 * registry.c - RegOpenKeyExA, RegQueryValueExA and RegCloseKey, served read-only from a
 * .reg file (ShimSetRegistryFile, or $ISAPIHOST_REGISTRY on first use).
 *
 * The file is parsed once into a flat table of keys, each with its full path
 * ("HKEY_LOCAL_MACHINE\SYSTEM\...", root spelled out) and its values. Sections naming the
 * same key merge, later values replacing earlier ones; "[-key]" deletes a key and its
 * subkeys, "name"=- deletes a value, as regedit does. A key exists if it is a root, is
 * named by a section, or is the parent of one (regedit creates parents). Names compare
 * case-insensitively.
 *
 * An opened HKEY is a heap record holding the key's path (never a pointer into the
 * table), so loading another file does not invalidate open keys; they simply see the new
 * contents. Open keys are kept on a list so RegCloseKey can reject a bogus handle.
 *
 * The Reg* functions return their error code and leave the last error alone, as advapi32
 * does; the code still comes from the one translation table (shim_win32_error).
 * String values (REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ) are stored with their terminating
 * NUL, so their size includes it, as RegQueryValueExA reports it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shim.h>
#include "shim_private.h"

struct shim_reg_value {
    char *name;            /* "" for the default value (@) */
    DWORD type;
    BYTE *data;
    DWORD size;
};

struct shim_reg_key {
    char *path;
    struct shim_reg_value *values;
    size_t nvalues;
};

struct shim_registry {
    struct shim_reg_key *keys;
    size_t nkeys;
};

struct shim_hkey {
    struct shim_hkey *next;
    char *path;
};

static pthread_mutex_t shim_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shim_registry shim_reg;
static BOOL shim_reg_tried;          /* a load was attempted (explicitly or from the env) */
static char shim_reg_error[512];
static struct shim_hkey *shim_open_keys;

static const struct { ULONG_PTR hkey; const char *name, *abbrev; } shim_roots[] = {
    { 0x80000000u, "HKEY_CLASSES_ROOT", "HKCR" },
    { 0x80000001u, "HKEY_CURRENT_USER", "HKCU" },
    { 0x80000002u, "HKEY_LOCAL_MACHINE", "HKLM" },
    { 0x80000003u, "HKEY_USERS", "HKU" },
};

/* Frees the contents of reg's keys, not the key array itself. */
static void shim__reg_free_keys(struct shim_registry *reg)
{
    for (size_t i = 0; i < reg->nkeys; i++) {
        for (size_t j = 0; j < reg->keys[i].nvalues; j++) {
            free(reg->keys[i].values[j].name);
            free(reg->keys[i].values[j].data);
        }
        free(reg->keys[i].values);
        free(reg->keys[i].path);
    }
}

static void shim__reg_free(struct shim_registry *reg)
{
    shim__reg_free_keys(reg);
    free(reg->keys);
    reg->keys = NULL;
    reg->nkeys = 0;
}

static BOOL shim__path_is_under(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    return _strnicmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '\\');
}

static struct shim_reg_key *shim__reg_find(struct shim_registry *reg, const char *path)
{
    for (size_t i = 0; i < reg->nkeys; i++)
        if (shim__strcasecmp(reg->keys[i].path, path) == 0)
            return &reg->keys[i];
    return NULL;
}

/* Canonical root name for the first path component, or NULL. */
static const char *shim__root_name(const char *path, size_t *len)
{
    const char *sep = strchr(path, '\\');
    size_t n = sep ? (size_t)(sep - path) : strlen(path);
    for (size_t i = 0; i < sizeof shim_roots / sizeof shim_roots[0]; i++) {
        if ((strlen(shim_roots[i].name) == n && _strnicmp(path, shim_roots[i].name, n) == 0) ||
            (strlen(shim_roots[i].abbrev) == n && _strnicmp(path, shim_roots[i].abbrev, n) == 0)) {
            *len = n;
            return shim_roots[i].name;
        }
    }
    return NULL;
}

/* Parser state and error reporting. */
struct shim_reg_parse {
    const char *file;
    int line;
    BOOL unicode;          /* version 5 file: hex(2)/hex(7) data is UTF-16LE */
    struct shim_registry *reg;
    struct shim_reg_key *key;
};

static int shim__reg_fail(struct shim_reg_parse *ps, const char *what)
{
    snprintf(shim_reg_error, sizeof shim_reg_error, "%s:%d: %s", ps->file, ps->line, what);
    return SHIM_E_BADDB;
}

static int shim__reg_key_open(struct shim_reg_parse *ps, const char *spec)
{
    size_t rootlen;
    const char *root = shim__root_name(spec, &rootlen);
    char *path;
    BOOL del = FALSE;

    if (*spec == '-') {
        del = TRUE;
        root = shim__root_name(++spec, &rootlen);
    }
    if (!root)
        return shim__reg_fail(ps, "key path does not start with a known root (HKEY_LOCAL_MACHINE, ...)");
    path = malloc(strlen(root) + strlen(spec + rootlen) + 1);
    if (!path)
        return ENOMEM;
    strcpy(path, root);
    strcat(path, spec + rootlen);
    for (size_t n = strlen(path); n > 0 && path[n - 1] == '\\'; n--)
        path[n - 1] = '\0';

    ps->key = NULL;
    if (del) {
        struct shim_registry *reg = ps->reg;
        for (size_t i = 0; i < reg->nkeys;) {
            if (shim__path_is_under(reg->keys[i].path, path)) {
                struct shim_registry gone = { &reg->keys[i], 1 };
                struct shim_reg_key last = reg->keys[reg->nkeys - 1];
                shim__reg_free_keys(&gone);
                reg->keys[i] = last;
                reg->nkeys--;
            } else {
                i++;
            }
        }
        free(path);
        return 0;
    }
    ps->key = shim__reg_find(ps->reg, path);
    if (ps->key) {
        free(path);
        return 0;
    }
    struct shim_reg_key *keys = realloc(ps->reg->keys, (ps->reg->nkeys + 1) * sizeof *keys);
    if (!keys) {
        free(path);
        return ENOMEM;
    }
    ps->reg->keys = keys;
    ps->key = &keys[ps->reg->nkeys++];
    memset(ps->key, 0, sizeof *ps->key);
    ps->key->path = path;
    return 0;
}

/* Parses a "quoted string" with regedit's escapes (\\ and \"); *p is past the opening
 * quote. The result is written in place at out. */
static int shim__reg_string(struct shim_reg_parse *ps, char **p, char *out, size_t *len)
{
    char *s = *p;
    size_t n = 0;
    for (; *s && *s != '"'; s++) {
        if (*s == '\\' && (s[1] == '\\' || s[1] == '"'))
            s++;
        out[n++] = *s;
    }
    if (*s != '"')
        return shim__reg_fail(ps, "unterminated string");
    *p = s + 1;
    *len = n;
    return 0;
}

static int shim__reg_set(struct shim_reg_key *key, const char *name, DWORD type, const BYTE *data,
                         size_t size, BOOL del)
{
    struct shim_reg_value *v = NULL;
    for (size_t i = 0; i < key->nvalues; i++)
        if (shim__strcasecmp(key->values[i].name, name) == 0)
            v = &key->values[i];
    if (del) {
        if (v) {
            free(v->name);
            free(v->data);
            *v = key->values[--key->nvalues];
        }
        return 0;
    }
    if (!v) {
        struct shim_reg_value *vals = realloc(key->values, (key->nvalues + 1) * sizeof *vals);
        if (!vals)
            return ENOMEM;
        key->values = vals;
        v = &vals[key->nvalues++];
        memset(v, 0, sizeof *v);
        if (!(v->name = strdup(name))) {
            key->nvalues--;
            return ENOMEM;
        }
    }
    BYTE *copy = malloc(size ? size : 1);
    if (!copy)
        return ENOMEM;
    memcpy(copy, data, size);
    free(v->data);
    v->data = copy;
    v->size = (DWORD)size;
    v->type = type;
    return 0;
}

static int shim__hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* One value line (continuations already joined). */
static int shim__reg_value(struct shim_reg_parse *ps, char *line)
{
    char *p = line, *name;
    size_t namelen, size = 0;
    BYTE *data = NULL;
    DWORD type;
    int err;

    if (*p == '@') {
        name = "";
        p++;
    } else {
        name = p + 1;
        p++;
        if ((err = shim__reg_string(ps, &p, name, &namelen)) != 0)
            return err;
        name[namelen] = '\0';
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p++ != '=')
        return shim__reg_fail(ps, "expected '=' after the value name");
    while (*p == ' ' || *p == '\t')
        p++;

    if (*p == '-' && p[1] == '\0')
        return shim__reg_set(ps->key, name, REG_NONE, NULL, 0, TRUE);
    if (*p == '"') {
        char *s = ++p;
        size_t n;
        if ((err = shim__reg_string(ps, &p, s, &n)) != 0)
            return err;
        s[n] = '\0';
        return shim__reg_set(ps->key, name, REG_SZ, (const BYTE *)s, n + 1, FALSE);
    }
    if (_strnicmp(p, "dword:", 6) == 0) {
        DWORD v = 0;
        int digits = 0;
        for (p += 6; shim__hexval((unsigned char)*p) >= 0; p++, digits++)
            v = (v << 4) | (DWORD)shim__hexval((unsigned char)*p);
        if (digits == 0 || digits > 8 || *p)
            return shim__reg_fail(ps, "dword: needs 1 to 8 hex digits");
        BYTE le[4] = { (BYTE)v, (BYTE)(v >> 8), (BYTE)(v >> 16), (BYTE)(v >> 24) };
        return shim__reg_set(ps->key, name, REG_DWORD, le, 4, FALSE);
    }
    if (_strnicmp(p, "hex", 3) == 0) {
        p += 3;
        type = REG_BINARY;
        if (*p == '(') {
            char *end;
            type = (DWORD)strtoul(p + 1, &end, 16);
            if (end == p + 1 || *end != ')')
                return shim__reg_fail(ps, "bad hex(type)");
            p = end + 1;
        }
        if (*p++ != ':')
            return shim__reg_fail(ps, "expected ':' after hex");
        data = malloc(strlen(p) / 2 + 1);
        if (!data)
            return ENOMEM;
        while (*p) {
            while (*p == ' ' || *p == '\t' || *p == ',')
                p++;
            if (!*p)
                break;
            int hi = shim__hexval((unsigned char)p[0]), lo = shim__hexval((unsigned char)p[1]);
            if (hi < 0 || lo < 0) {
                free(data);
                return shim__reg_fail(ps, "bad byte in hex data");
            }
            data[size++] = (BYTE)(hi << 4 | lo);
            p += 2;
        }
        if (ps->unicode && (type == REG_SZ || type == REG_EXPAND_SZ || type == REG_MULTI_SZ) && size >= 2) {
            /* Version 5 files hold UTF-16LE here; the A functions return it as UTF-8. */
            size_t nw = size / 2;
            WCHAR *w = malloc(nw * sizeof *w);
            char *mb = malloc(nw * 3 + 1);
            int n = 0;
            if (w && mb) {
                for (size_t i = 0; i < nw; i++)
                    w[i] = (WCHAR)(data[2 * i] | data[2 * i + 1] << 8);
                n = WideCharToMultiByte(CP_UTF8, 0, w, (int)nw, mb, (int)(nw * 3 + 1), NULL, NULL);
            }
            free(w);
            if (n > 0) {
                free(data);
                data = (BYTE *)mb;
                size = (size_t)n;
            } else {
                free(mb);
            }
        }
        err = shim__reg_set(ps->key, name, type, data, size, FALSE);
        free(data);
        return err;
    }
    return shim__reg_fail(ps, "value must be \"string\", dword:, hex: or -");
}

static int shim__reg_parse(const char *file, char *text, struct shim_registry *reg)
{
    struct shim_reg_parse ps = { file, 0, FALSE, reg, NULL };
    BOOL header = FALSE;
    char *next;
    int err;

    if ((unsigned char)text[0] == 0xFF || (unsigned char)text[0] == 0xFE || (text[0] && !text[1]))
        return ps.line = 1, shim__reg_fail(&ps, "UTF-16 .reg files are not supported: save it as UTF-8 or ANSI");
    if (memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        text += 3;
    for (char *line = text; line; line = next) {
        ps.line++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        line = shim__trim(line);
        /* A value may continue on the next lines after a trailing backslash (hex data). */
        size_t len = strlen(line);
        while (len && line[len - 1] == '\\' && next && line[0] != '[') {
            char *cont = next;
            next = strchr(cont, '\n');
            if (next)
                *next++ = '\0';
            ps.line++;
            cont = shim__trim(cont);
            line[len - 1] = '\0';
            memmove(line + len - 1, cont, strlen(cont) + 1);
            len = strlen(line);
        }
        if (!*line || *line == ';')
            continue;
        if (!header) {
            if (strcmp(line, "REGEDIT4") == 0) {
                header = TRUE;
            } else if (strcmp(line, "Windows Registry Editor Version 5.00") == 0) {
                header = TRUE;
                ps.unicode = TRUE;
            } else {
                return shim__reg_fail(&ps, "first line must be REGEDIT4 or "
                                           "\"Windows Registry Editor Version 5.00\"");
            }
            continue;
        }
        if (*line == '[') {
            char *end = strrchr(line, ']');
            if (!end)
                return shim__reg_fail(&ps, "missing ']'");
            *end = '\0';
            if ((err = shim__reg_key_open(&ps, line + 1)) != 0)
                return err;
        } else if (*line == '"' || *line == '@') {
            if (!ps.key)
                return shim__reg_fail(&ps, "value outside a [key] section");
            if ((err = shim__reg_value(&ps, line)) != 0)
                return err;
        } else {
            return shim__reg_fail(&ps, "expected [key], \"name\"=value or @=value");
        }
    }
    if (!header)
        return ps.line = 1, shim__reg_fail(&ps, "empty file: no REGEDIT4 header");
    return 0;
}

/* Caller holds shim_reg_lock. */
static int shim__reg_load(const char *path)
{
    struct shim_registry reg = { NULL, 0 };
    FILE *f;
    char *text;
    long size;
    int err;

    shim_reg_tried = TRUE;
    if (!path) {
        shim__reg_free(&shim_reg);
        shim_reg_error[0] = '\0';
        return 0;
    }
    f = fopen(path, "rb");
    if (!f) {
        err = errno;
        snprintf(shim_reg_error, sizeof shim_reg_error, "%s: %s", path, strerror(err));
        return err;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
        !(text = malloc((size_t)size + 1))) {
        fclose(f);
        snprintf(shim_reg_error, sizeof shim_reg_error, "%s: cannot read", path);
        return EIO;
    }
    size = (long)fread(text, 1, (size_t)size, f);
    fclose(f);
    text[size] = '\0';
    err = shim__reg_parse(path, text, &reg);
    free(text);
    if (err) {
        shim__reg_free(&reg);
        if (err == ENOMEM)
            snprintf(shim_reg_error, sizeof shim_reg_error, "%s: out of memory", path);
        return err;
    }
    shim__reg_free(&shim_reg);
    shim_reg = reg;
    shim_reg_error[0] = '\0';
    return 0;
}

/*** ShimSetRegistryFile (shim) ***/
BOOL ShimSetRegistryFile(const char *path)
{
    int err;

    pthread_mutex_lock(&shim_reg_lock);
    err = shim__reg_load(path);
    pthread_mutex_unlock(&shim_reg_lock);
    return shim_set_errno(err);
}

/*** ShimRegistryError (shim) ***/
const char *ShimRegistryError(void)
{
    return shim_reg_error;
}

/* Takes the lock, loading $ISAPIHOST_REGISTRY on first use. */
static void shim__reg_enter(void)
{
    pthread_mutex_lock(&shim_reg_lock);
    if (!shim_reg_tried) {
        const char *env = getenv("ISAPIHOST_REGISTRY");
        shim_reg_tried = TRUE;
        if (env && *env && shim__reg_load(env) != 0)
            fprintf(stderr, "err:shim:registry %s\n", shim_reg_error);
    }
}

/* Path of an open or predefined key, or NULL; caller holds the lock. */
static const char *shim__hkey_path(HKEY h)
{
    for (size_t i = 0; i < sizeof shim_roots / sizeof shim_roots[0]; i++)
        if ((ULONG_PTR)h == shim_roots[i].hkey)
            return shim_roots[i].name;
    for (struct shim_hkey *k = shim_open_keys; k; k = k->next)
        if (k == h)
            return k->path;
    return NULL;
}

static BOOL shim__key_exists(const char *path)
{
    if (!strchr(path, '\\'))
        return TRUE;   /* a root */
    for (size_t i = 0; i < shim_reg.nkeys; i++)
        if (shim__path_is_under(shim_reg.keys[i].path, path))
            return TRUE;
    return FALSE;
}

/*** RegOpenKeyExA (shim advapi32) ***/
LSTATUS WINAPI RegOpenKeyExA(HKEY hKey, LPCSTR lpSubKey, DWORD ulOptions, REGSAM samDesired,
                             PHKEY phkResult)
{
    const char *base;
    struct shim_hkey *k = NULL;
    int err = 0;

    if (!phkResult)
        return ERROR_INVALID_PARAMETER;
    shim__reg_enter();
    base = shim__hkey_path(hKey);
    if (!base) {
        err = SHIM_E_INVALID_HANDLE;
    } else {
        size_t blen = strlen(base), slen = lpSubKey ? strlen(lpSubKey) : 0;
        while (slen && lpSubKey[slen - 1] == '\\')
            slen--;
        k = calloc(1, sizeof *k);
        if (k)
            k->path = malloc(blen + slen + 2);
        if (!k || !k->path) {
            err = ENOMEM;
        } else {
            memcpy(k->path, base, blen);
            k->path[blen] = '\0';
            if (slen) {
                k->path[blen] = '\\';
                memcpy(k->path + blen + 1, lpSubKey, slen);
                k->path[blen + 1 + slen] = '\0';
            }
            if (!shim__key_exists(k->path))
                err = ENOENT;
        }
        if (err) {
            if (k)
                free(k->path);
            free(k);
            k = NULL;
        } else {
            k->next = shim_open_keys;
            shim_open_keys = k;
        }
    }
    pthread_mutex_unlock(&shim_reg_lock);
    *phkResult = k;
    return (LSTATUS)shim_win32_error(err);
}

/*** RegQueryValueExA (shim advapi32) ***/
LSTATUS WINAPI RegQueryValueExA(HKEY hKey, LPCSTR lpValueName, LPDWORD lpReserved,
                                LPDWORD lpType, LPBYTE lpData, LPDWORD lpcbData)
{
    const char *path, *name = lpValueName ? lpValueName : "";
    struct shim_reg_value *val = NULL;
    int err = 0;

    if (lpReserved || (lpData && !lpcbData))
        return ERROR_INVALID_PARAMETER;
    shim__reg_enter();
    path = shim__hkey_path(hKey);
    if (!path) {
        err = SHIM_E_INVALID_HANDLE;
    } else {
        struct shim_reg_key *key = shim__reg_find(&shim_reg, path);
        for (size_t i = 0; key && i < key->nvalues && !val; i++)
            if (shim__strcasecmp(key->values[i].name, name) == 0)
                val = &key->values[i];
        if (!val)
            err = ENOENT;
    }
    if (val) {
        if (lpType)
            *lpType = val->type;
        if (lpData) {
            if (*lpcbData < val->size)
                err = SHIM_E_MORE_DATA;
            else
                memcpy(lpData, val->data, val->size);
        }
        if (lpcbData)
            *lpcbData = val->size;
    }
    pthread_mutex_unlock(&shim_reg_lock);
    return (LSTATUS)shim_win32_error(err);
}

/*** RegCloseKey (shim advapi32) ***/
LSTATUS WINAPI RegCloseKey(HKEY hKey)
{
    int err = SHIM_E_INVALID_HANDLE;

    for (size_t i = 0; i < sizeof shim_roots / sizeof shim_roots[0]; i++)
        if ((ULONG_PTR)hKey == shim_roots[i].hkey)
            return ERROR_SUCCESS;
    pthread_mutex_lock(&shim_reg_lock);
    for (struct shim_hkey **pp = &shim_open_keys; *pp; pp = &(*pp)->next) {
        if (*pp == hKey) {
            *pp = hKey->next;
            free(hKey->path);
            free(hKey);
            err = 0;
            break;
        }
    }
    pthread_mutex_unlock(&shim_reg_lock);
    return (LSTATUS)shim_win32_error(err);
}
