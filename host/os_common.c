/*
 * os_common.c - the parts of host/os.h that need no OS: UTC calendar arithmetic, RFC 7231
 * dates, the fixed texts of the PLAT_E* codes, and the string side of paths (joining, and
 * whether a real path lies inside a folder). Built on every platform, next to
 * host/posix/os_posix.c or win32/os_win32.c.
 *
 * Calendar: days since 1970-01-01 <-> proleptic Gregorian (year, month, day), with the
 * era-based formulas from Howard Hinnant's "chrono-Compatible Low-Level Date Algorithms",
 * which are exact for every int64 day count we can meet and need no tables, no timezone
 * and no gmtime()/timegm() (the latter is not standard C, and Windows calls it
 * _mkgmtime). The only OS input is plat_time_unix_ms().
 *
 * HTTP dates: the server only ever sends IMF-fixdate and only parses IMF-fixdate. RFC 7231
 * section 7.1.1.1 asks recipients to accept the two obsolete forms too, but the only header
 * we parse is If-Modified-Since, where ignoring a date we cannot read just means sending a
 * full 200 response, which is always correct.
 */
#include "os.h"

#include <string.h>

static const char wday_names[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char month_names[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

const char *plat__code_text(int code)
{
    switch (code) {
    case PLAT_OK: return "success";
    case PLAT_ERROR: return "system error";
    case PLAT_ETIMEDOUT: return "timed out";
    case PLAT_ECONNRESET: return "connection reset by peer";
    case PLAT_ECONNREFUSED: return "connection refused";
    case PLAT_EADDRINUSE: return "address already in use";
    case PLAT_EADDRNOTAVAIL: return "address not available";
    case PLAT_EINVAL: return "invalid argument";
    case PLAT_ENOENT: return "no such file or folder";
    case PLAT_EACCES: return "access denied";
    case PLAT_EISDIR: return "is a folder";
    case PLAT_ENOMEM: return "out of memory";
    case PLAT_EMFILE: return "too many open files or sockets";
    case PLAT_ENAMETOOLONG: return "name too long";
    case PLAT_EIO: return "input/output error";
    case PLAT_ENOTSUP: return "not supported";
    case PLAT_EOUTSIDE: return "outside the allowed folder";
    default: return "unknown error";
    }
}

int plat__native_code(int native)
{
    /* Win32, Winsock and errno values are all well below this bound. */
    if (native <= 0 || native > 0x3fffffff + PLAT_ENATIVE)
        return PLAT_ERROR;
    return PLAT_ENATIVE - native;
}

int plat__native_of(int code)
{
    return code <= PLAT_ENATIVE ? PLAT_ENATIVE - code : 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;                                      /* [0, 399] */
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;     /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;              /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, int m)
{
    static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : dm[m - 1];
}

void plat_time_utc_from_ms(int64_t unix_ms, plat_tm_t *out)
{
    int64_t days = floor_div(unix_ms, 86400000);
    int64_t ms_of_day = unix_ms - days * 86400000;
    int64_t y;
    civil_from_days(days, &y, &out->month, &out->day);
    out->year = (int)y;
    out->hour = (int)(ms_of_day / 3600000);
    out->min = (int)(ms_of_day / 60000 % 60);
    out->sec = (int)(ms_of_day / 1000 % 60);
    out->msec = (int)(ms_of_day % 1000);
    out->wday = (int)(days + 4 - floor_div(days + 4, 7) * 7);   /* 1970-01-01: Thursday */
}

void plat_time_utc_now(plat_tm_t *out)
{
    plat_time_utc_from_ms(plat_time_unix_ms(), out);
}

int plat_time_utc_to_unix(const plat_tm_t *tm, int64_t *out)
{
    if (tm->month < 1 || tm->month > 12 || tm->day < 1
        || tm->day > days_in_month(tm->year, tm->month) || tm->hour < 0 || tm->hour > 23
        || tm->min < 0 || tm->min > 59 || tm->sec < 0 || tm->sec > 59)
        return PLAT_EINVAL;
    *out = days_from_civil(tm->year, tm->month, tm->day) * 86400 + tm->hour * 3600
           + tm->min * 60 + tm->sec;
    return 0;
}

char *plat_http_date_format(int64_t unix_sec, char *buf)
{
    /* Years outside 0000..9999 cannot be written in four digits; clamp to the nearest end. */
    const int64_t first = -62167219200LL, last = 253402300799LL;
    plat_tm_t tm;
    plat_time_utc_from_ms((unix_sec < first ? first : unix_sec > last ? last : unix_sec) * 1000,
                          &tm);
    const char *w = wday_names[tm.wday], *mo = month_names[tm.month - 1];
    char *p = buf;
    memcpy(p, w, 3), p += 3;
    *p++ = ',', *p++ = ' ';
    *p++ = (char)('0' + tm.day / 10), *p++ = (char)('0' + tm.day % 10), *p++ = ' ';
    memcpy(p, mo, 3), p += 3;
    *p++ = ' ';
    *p++ = (char)('0' + tm.year / 1000), *p++ = (char)('0' + tm.year / 100 % 10);
    *p++ = (char)('0' + tm.year / 10 % 10), *p++ = (char)('0' + tm.year % 10), *p++ = ' ';
    *p++ = (char)('0' + tm.hour / 10), *p++ = (char)('0' + tm.hour % 10), *p++ = ':';
    *p++ = (char)('0' + tm.min / 10), *p++ = (char)('0' + tm.min % 10), *p++ = ':';
    *p++ = (char)('0' + tm.sec / 10), *p++ = (char)('0' + tm.sec % 10);
    memcpy(p, " GMT", 5);
    return buf;
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int name_index(const char *s, const char names[][4], int n)
{
    for (int i = 0; i < n; i++)
        if (memcmp(s, names[i], 3) == 0)
            return i;
    return -1;
}

int plat_http_date_parse(const char *s, size_t len, int64_t *unix_sec)
{
    while (len > 0 && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    /* "Sun, 06 Nov 1994 08:49:37 GMT": fixed positions, names case-sensitive (RFC 7231). */
    if (len != PLAT_HTTP_DATE_LEN || s[3] != ',' || s[4] != ' ' || s[7] != ' '
        || s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':'
        || memcmp(s + 25, " GMT", 4) != 0)
        return PLAT_EINVAL;
    int wday = name_index(s, wday_names, 7);
    int month = name_index(s + 8, month_names, 12);
    plat_tm_t tm = { digits(s + 12, 4), month + 1, digits(s + 5, 2), digits(s + 17, 2),
                     digits(s + 20, 2), digits(s + 23, 2), 0, wday };
    if (wday < 0 || month < 0 || tm.year < 0 || tm.day < 0 || tm.hour < 0 || tm.min < 0
        || tm.sec < 0)
        return PLAT_EINVAL;
    int64_t t;
    if (plat_time_utc_to_unix(&tm, &t) != 0)
        return PLAT_EINVAL;
    /* The day name must agree with the date; a mismatch means a forged or broken date. */
    plat_tm_t check;
    plat_time_utc_from_ms(t * 1000, &check);
    if (check.wday != wday)
        return PLAT_EINVAL;
    *unix_sec = t;
    return 0;
}

int plat_path_join(char *out, size_t outlen, const char *root, const char *rel)
{
    size_t rl = strlen(root);
    if (rl == 0)
        return PLAT_EINVAL;
    for (const char *seg = rel; *seg;) {
        size_t n = strcspn(seg, "/");
        if (n > 0 && !plat__path_segment_ok(seg, n))
            return PLAT_EINVAL;
        seg += n;
        if (*seg == '/')
            seg++;
    }
    while (*rel == '/')
        rel++;
    /* Keep a root that is only a separator ("/"); drop trailing ones from any other. */
    while (rl > 1 && (root[rl - 1] == '/' || root[rl - 1] == PLAT_PATH_SEP))
        rl--;
    int root_ends_sep = root[rl - 1] == '/' || root[rl - 1] == PLAT_PATH_SEP;
    size_t need = rl + (*rel && !root_ends_sep ? 1 : 0) + strlen(rel);
    if (need + 1 > outlen || need > INT32_MAX)
        return PLAT_ENAMETOOLONG;
    memcpy(out, root, rl);
    size_t o = rl;
    if (*rel && !root_ends_sep)
        out[o++] = PLAT_PATH_SEP;
    for (; *rel; rel++) {
        if (*rel != '/')
            out[o++] = *rel;
        else if (out[o - 1] != PLAT_PATH_SEP)
            out[o++] = PLAT_PATH_SEP;
    }
    out[o] = '\0';
    return (int)o;
}

/* Where PLAT_WIN32_NAME_RULES is 1, '\\' separates too and names ignore case. */
static int is_path_sep(char c)
{
    return c == '/' || (PLAT_WIN32_NAME_RULES && c == '\\');
}

static int same_path_char(char a, char b)
{
    if (PLAT_WIN32_NAME_RULES) {
        if (a >= 'a' && a <= 'z')
            a = (char)(a - 32);
        if (b >= 'a' && b <= 'z')
            b = (char)(b - 32);
    }
    return a == b || (is_path_sep(a) && is_path_sep(b));
}

int plat__path_within(const char *real, const char *within, const char *rest)
{
    size_t wl = strlen(within);
    while (wl > 0 && is_path_sep(within[wl - 1]))
        wl--;   /* "/" (the whole tree) leaves wl 0: every absolute path is inside */
    for (size_t i = 0; i < wl; i++)
        if (real[i] == '\0' || !same_path_char(real[i], within[i]))
            return 0;
    const char *tail = real + wl;
    if (*tail != '\0' && !is_path_sep(*tail))
        return 0;   /* "/site2" is not inside "/site" */
    if (!rest)
        return 1;
    /* Segment by segment: runs of separators count as one; leading or trailing ones are
     * ignored. */
    for (;;) {
        while (is_path_sep(*tail))
            tail++;
        while (is_path_sep(*rest))
            rest++;
        if (*tail == '\0' || *rest == '\0')
            return *tail == *rest;
        size_t a = 0, b = 0;
        while (tail[a] && !is_path_sep(tail[a]))
            a++;
        while (rest[b] && !is_path_sep(rest[b]))
            b++;
        if (a != b)
            return 0;
        for (size_t i = 0; i < a; i++)
            if (!same_path_char(tail[i], rest[i]))
                return 0;
        tail += a;
        rest += b;
    }
}

#if !PLAT_FILTER_PATHS_WIN32
/* Filters see the host's own paths (the Winelib build has its own: host/posix/os_winelib.c). */
static int copy_path(const char *in, char *out, size_t outlen)
{
    size_t n = strlen(in);
    if (n >= outlen)
        return PLAT_ENAMETOOLONG;
    memcpy(out, in, n + 1);
    return (int)n;
}

int plat_path_to_filter(const char *host_path, char *out, size_t outlen)
{
    return copy_path(host_path, out, outlen);
}

int plat_path_from_filter(const char *filter_path, char *out, size_t outlen)
{
    return copy_path(filter_path, out, outlen);
}
#endif
