/*
 * image.c - why a library did not load. When LoadLibraryA fails, the Win32 code alone
 * rarely tells a filter's owner what to do (ERROR_BAD_EXE_FORMAT for a DLL of the other
 * bitness, ERROR_MOD_NOT_FOUND both for a missing file and for a missing dependency), so
 * isapi__explain_load_failure reads the file's header itself and compares it with the
 * server's own executable: PE or ELF, which machine, which bitness, and for a PE whose file
 * exists, which of the DLLs in its import table cannot be found. This is plain file
 * parsing, the same on every platform; every read is bounded by the file's length.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum { IMG_NONE, IMG_PE, IMG_ELF };

typedef struct image_info {
    int format;             /* IMG_NONE: neither PE nor ELF */
    int bits;               /* 32 or 64, 0 when unknown */
    unsigned machine;       /* PE Machine or ELF e_machine */
    int is_library;         /* PE IMAGE_FILE_DLL / ELF ET_DYN */
    char imports[1024];     /* PE: imported DLL names, each NUL-terminated, "" ends */
} image_info;

#define IMG_MAX_READ ((size_t)64 * 1024 * 1024)

static unsigned rd16(const unsigned char *p) { return p[0] | (unsigned)p[1] << 8; }
static uint32_t rd32(const unsigned char *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads a whole file (up to IMG_MAX_READ bytes). Returns a malloc'ed buffer or NULL with
 * errno set. */
static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t cap = 65536, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (n < cap || cap >= IMG_MAX_READ)
            break;
        unsigned char *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    fclose(fp);
    *len = n;
    return buf;
}

/* File offset of a PE relative virtual address, or 0 when no section holds it. */
static size_t pe_offset(const unsigned char *b, size_t n, size_t sect, unsigned nsect,
                        uint32_t rva)
{
    for (unsigned i = 0; i < nsect && sect + 40 * (size_t)(i + 1) <= n; i++) {
        const unsigned char *h = b + sect + 40 * (size_t)i;
        uint32_t vsize = rd32(h + 8), va = rd32(h + 12), raw = rd32(h + 16), ptr = rd32(h + 20);
        uint32_t span = vsize > raw ? vsize : raw;
        if (rva >= va && rva - va < span && (size_t)ptr + (rva - va) < n)
            return (size_t)ptr + (rva - va);
    }
    return 0;
}

static void pe_read_imports(const unsigned char *b, size_t n, size_t opt, image_info *img)
{
    size_t used = 0;
    unsigned magic = rd16(b + opt);
    size_t dirs = opt + (magic == 0x20b ? 112 : 96);
    size_t ndirs_at = opt + (magic == 0x20b ? 108 : 92);
    size_t coff = opt - 20;
    size_t sect = opt + rd16(b + coff + 16);
    unsigned nsect = rd16(b + coff + 2);
    if (dirs + 16 > n || rd32(b + ndirs_at) < 2)
        return;
    uint32_t rva = rd32(b + dirs + 8);
    size_t off = rva ? pe_offset(b, n, sect, nsect, rva) : 0;
    for (; off && off + 20 <= n; off += 20) {
        uint32_t name_rva = rd32(b + off + 12);
        if (name_rva == 0)
            break;
        size_t name = pe_offset(b, n, sect, nsect, name_rva);
        if (!name)
            continue;
        size_t len = 0;
        while (name + len < n && b[name + len] && len < 255)
            len++;
        if (used + len + 2 > sizeof img->imports)
            break;
        memcpy(img->imports + used, b + name, len);
        used += len;
        img->imports[used++] = '\0';
    }
    img->imports[used] = '\0';
}

/* Fills *img from the file's header. Returns 0, or -1 when the file cannot be read
 * (errno tells why). */
static int read_image(const char *path, image_info *img)
{
    memset(img, 0, sizeof *img);
    size_t n = 0;
    unsigned char *b = read_file(path, &n);
    if (!b)
        return -1;
    if (n >= 64 && b[0] == 'M' && b[1] == 'Z') {
        size_t pe = rd32(b + 0x3c);
        if (pe + 24 + 2 <= n && memcmp(b + pe, "PE\0\0", 4) == 0) {
            img->format = IMG_PE;
            img->machine = rd16(b + pe + 4);
            img->is_library = (rd16(b + pe + 22) & 0x2000) != 0;   /* IMAGE_FILE_DLL */
            unsigned magic = rd16(b + pe + 24);
            img->bits = magic == 0x20b ? 64 : magic == 0x10b ? 32 : 0;
            if (img->bits)
                pe_read_imports(b, n, pe + 24, img);
        }
    } else if (n >= 20 && memcmp(b, "\177ELF", 4) == 0) {
        img->format = IMG_ELF;
        img->bits = b[4] == 1 ? 32 : b[4] == 2 ? 64 : 0;
        int big = b[5] == 2;
        img->machine = big ? (unsigned)b[18] << 8 | b[19] : rd16(b + 18);
        unsigned type = big ? (unsigned)b[16] << 8 | b[17] : rd16(b + 16);
        img->is_library = type == 3;                                /* ET_DYN */
    }
    free(b);
    return 0;
}

static const char *machine_name(const image_info *img)
{
    if (img->format == IMG_PE)
        switch (img->machine) {
        case 0x014c: return "i386";
        case 0x8664: return "x86-64";
        case 0xaa64: return "ARM64";
        case 0x01c4: return "ARM";
        default:     return "an unknown machine";
        }
    switch (img->machine) {
    case 3:   return "i386";
    case 62:  return "x86-64";
    case 183: return "AArch64";
    case 40:  return "ARM";
    default:  return "an unknown machine";
    }
}

static const char *base_name(const char *path)
{
    const char *base = path;
    for (const char *p = path; *p; p++)
        if (*p == '\\' || *p == '/')
            base = p + 1;
    return base;
}

/* Whether a DLL named in an import table can be found: beside the filter (the loader
 * searches there first, see isapi_engine_load), already loaded, or on the system's own
 * search path. */
static int dependency_found(const char *filter_path, const char *dll)
{
    char beside[1024];
    const char *base = base_name(filter_path);
    int n = snprintf(beside, sizeof beside, "%.*s%s", (int)(base - filter_path), filter_path,
                     dll);
    FILE *fp = n > 0 && (size_t)n < sizeof beside ? fopen(beside, "rb") : NULL;
    if (fp) {
        fclose(fp);
        return 1;
    }
    if (GetModuleHandleA(dll))
        return 1;
    HMODULE m = LoadLibraryExA(dll, NULL, LOAD_LIBRARY_AS_DATAFILE);
    if (m) {
        FreeLibrary(m);
        return 1;
    }
    return 0;
}
/* Puts into `out` the reason, in words, why LoadLibrary failed with `code` for `path`. */
/* A message into out, cut to fit: a long path may shorten a message, never overflow it. */
static void say(char *out, size_t len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void say(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, len, fmt, ap);
    va_end(ap);
}

/* Puts into `out` the reason, in words, why LoadLibrary failed with `code` for `path`. */
void isapi__explain_load_failure(const char *path, DWORD code, char *out, size_t len)
{
    image_info img, self;
    char self_path[1024];
    const char *self_name = "this server";
    int have_self = 0;
    DWORD sn = GetModuleFileNameA(NULL, self_path, sizeof self_path);
    if (sn > 0 && sn < sizeof self_path && read_image(self_path, &self) == 0
        && self.format != IMG_NONE) {
        have_self = 1;
        self_name = base_name(self_path);
    } else if (sn > 0 && sn < sizeof self_path) {
        /* Why: a Winelib server's program file is named in Windows form (Z:\...), and
         * is the start script beside isapihost.exe.so anyway; that server loads Windows
         * DLLs of its own bitness. */
        memset(&self, 0, sizeof self);
        self.format = IMG_PE;
        self.bits = (int)sizeof(void *) * 8;
        self.machine = sizeof(void *) == 8 ? 0x8664 : 0x014c;
        have_self = 1;
        self_name = base_name(self_path);
    }

    if (read_image(path, &img) != 0) {
        if (errno == ENOENT)
            say(out, len, "the file does not exist");
        else
            say(out, len, "the file cannot be read (%s)", strerror(errno));
        return;
    }
    const char *kind = img.format == IMG_PE ? "Windows DLL" : "ELF shared object";
    if (img.format == IMG_NONE) {
        say(out, len, "it is not a DLL: the file has neither a PE nor an ELF header");
    } else if (have_self && img.format != self.format) {
        if (self.format == IMG_ELF)
            say(out, len, "it is a %d-bit Windows DLL (%s); this native %s loads filters "
                     "compiled from source against the shim (.so), or run the DLL with "
                     "isapihost.exe (docs/windows.md)", img.bits, machine_name(&img),
                     self_name);
        else
            say(out, len, "it is an ELF shared object, not a Windows DLL; %s loads "
                     "Windows DLLs", self_name);
    } else if (have_self && (img.machine != self.machine || img.bits != self.bits)) {
        say(out, len, "it is a %d-bit %s (%s); %s is %d-bit (%s): use a build of the "
                 "filter and of isapihost of the same bitness", img.bits, kind,
                 machine_name(&img), self_name, self.bits, machine_name(&self));
    } else if (!img.is_library) {
        say(out, len, "it is a program, not a %s", kind);
    } else if (code == ERROR_MOD_NOT_FOUND) {
        size_t used = (size_t)snprintf(out, len, "%s it depends on could not be found",
                                       img.format == IMG_PE ? "a DLL" : "a shared library");
        int named = 0;
        for (const char *d = img.imports; *d && used < len; d += strlen(d) + 1) {
            if (isapi__ieqn(d, 7, "api-ms-", 7) || isapi__ieqn(d, 7, "ext-ms-", 7)
                || dependency_found(path, d))
                continue;
            used += (size_t)snprintf(out + used, len - used, "%s%s", named ? ", " : ": ", d);
            named = 1;
        }
        if (!named && used < len)
            snprintf(out + used, len - used, img.format == IMG_PE
                     ? " (not one it imports directly: one of theirs)"
                     : " (ldd on the file lists them)");
    } else if (code == ERROR_PROC_NOT_FOUND) {
        say(out, len, "a function it imports is missing from the %s that should provide "
                 "it", img.format == IMG_PE ? "DLL" : "library");
    } else if (code == ERROR_DLL_INIT_FAILED) {
        say(out, len, "its DllMain failed DLL_PROCESS_ATTACH");
    } else {
        say(out, len, "the system refused it");
    }
}
