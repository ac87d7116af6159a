/*
 * basicauth.c - ISAPI filter sample: Basic authentication against a users file.
 *
 * Protects every URL under a prefix (basicauth.ini, default /private/) with HTTP Basic
 * authentication, checking the credentials itself instead of against Windows accounts:
 *
 *   SF_NOTIFY_AUTHENTICATION  the server has decoded the Authorization header into
 *                             pszUser/pszPassword ("" for an anonymous request). For a
 *                             protected URL the filter looks the user up in users.txt
 *                             ("user:salt:hex(SHA-256(salt + password))"), hashing with the
 *                             Windows CNG API (BCrypt*). Anonymous or wrong credentials:
 *                             SetLastError(ERROR_ACCESS_DENIED) + SF_STATUS_REQ_ERROR, which
 *                             the server turns into a 401 denial. Good credentials may be
 *                             mapped to another name ([aliases]) by rewriting pszUser in
 *                             place, within cbUserBuff.
 *   SF_NOTIFY_ACCESS_DENIED   adds the challenge with SF_REQ_ADD_HEADERS_ON_DENIAL, so the
 *                             browser asks for a password.
 *   SF_NOTIFY_AUTH_COMPLETE   passes the user on as the request header
 *                             "X-Authenticated-User:" (deleting any such header the client
 *                             sent, so it cannot be forged).
 *   SF_NOTIFY_END_OF_REQUEST  forgets the user before the next request on the connection.
 *
 * The salt is used as the text written in the file (its hex digits), so a line can be made
 * with a shell one-liner (see README.md). The users file is read on every check, so edits
 * take effect at once. The CNG algorithm handle is opened once and shared by all threads
 * (CNG allows that); each check creates its own hash object.
 */
#include <windows.h>
#include <httpfilt.h>
#include <bcrypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_MAX_TEXT 256
#define AUTH_MAX_LINE 1024

typedef struct AUTH_STATE {
    BOOL fAuthenticated;
    char szUser[SF_MAX_USERNAME];
} AUTH_STATE;

static HINSTANCE g_hInstance;
static char g_szIni[MAX_PATH];
static char g_szUsersFile[MAX_PATH];
static char g_szPrefix[AUTH_MAX_TEXT] = "/private/";
static char g_szChallenge[AUTH_MAX_TEXT + 64];
static BCRYPT_ALG_HANDLE g_hSha256;
static DWORD g_cbHashObject, g_cbHash;

BOOL WINAPI DllMain(HINSTANCE hinstDLL, DWORD fdwReason, LPVOID lpvReserved);

BOOL WINAPI DllMain(HINSTANCE hinstDLL, DWORD fdwReason, LPVOID lpvReserved)
{
    if (fdwReason == DLL_PROCESS_ATTACH) {
        g_hInstance = hinstDLL;
        DisableThreadLibraryCalls(hinstDLL);
    }
    return TRUE;
}

/* Length of the folder part of path (up to and including the last separator). */
static size_t DirLength(const char *path)
{
    const char *sep = strrchr(path, '\\');

    if (!sep || strrchr(path, '/') > sep)
        sep = strrchr(path, '/');
    return sep ? (size_t)(sep - path) + 1 : 0;
}

/* basicauth.dll -> basicauth.ini beside it; users file relative to the DLL's folder. */
static void LoadSettings(void)
{
    char name[MAX_PATH], realm[AUTH_MAX_TEXT];
    DWORD n = GetModuleFileNameA(g_hInstance, g_szIni, sizeof g_szIni);
    size_t cchDir;
    char *dot;

    wsprintfA(g_szChallenge, "WWW-Authenticate: Basic realm=\"%s\"\r\n", "isapihost sample");
    if (n == 0 || n >= sizeof g_szIni - 4) {
        g_szIni[0] = '\0';
        return;
    }
    cchDir = DirLength(g_szIni);
    dot = strrchr(g_szIni, '.');
    if (dot && dot >= g_szIni + cchDir)
        *dot = '\0';
    lstrcatA(g_szIni, ".ini");

    GetPrivateProfileStringA("basicauth", "prefix", "/private/", g_szPrefix, sizeof g_szPrefix,
                             g_szIni);
    GetPrivateProfileStringA("basicauth", "realm", "isapihost sample", realm, sizeof realm,
                             g_szIni);
    GetPrivateProfileStringA("basicauth", "users", "users.txt", name, sizeof name, g_szIni);
    wsprintfA(g_szChallenge, "WWW-Authenticate: Basic realm=\"%s\"\r\n", realm);

    if (name[0] == '/' || name[0] == '\\' || (name[0] && name[1] == ':')) {
        lstrcpynA(g_szUsersFile, name, sizeof g_szUsersFile);
    } else if (cchDir + strlen(name) < sizeof g_szUsersFile) {
        lstrcpynA(g_szUsersFile, g_szIni, (int)cchDir + 1);
        lstrcatA(g_szUsersFile, name);
    }
}

static BOOL UnderPrefix(const char *url)
{
    return url && _strnicmp(url, g_szPrefix, strlen(g_szPrefix)) == 0;
}

/* GetServerVariable into a malloc'd buffer, growing it as the server asks. */
static char *GetServerVariableAlloc(PHTTP_FILTER_CONTEXT pfc, char *name)
{
    DWORD cb = 128;
    char *buf = (char *)malloc(cb);

    while (buf) {
        DWORD size = cb;
        char *bigger;
        if (pfc->GetServerVariable(pfc, name, buf, &size))
            return buf;
        if (GetLastError() != ERROR_INSUFFICIENT_BUFFER || size <= cb)
            break;
        cb = size;
        bigger = (char *)realloc(buf, cb);
        if (!bigger)
            break;
        buf = bigger;
    }
    free(buf);
    return NULL;
}

/* hex(SHA-256(salt || password)) into hex (2 * g_cbHash + 1 bytes). */
static BOOL HashPassword(const char *salt, const char *password, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    BCRYPT_HASH_HANDLE hHash = NULL;
    PUCHAR pbObject = NULL, pbHash = NULL;
    NTSTATUS status;
    BOOL fOk = FALSE;
    DWORD i;

    pbObject = (PUCHAR)HeapAlloc(GetProcessHeap(), 0, g_cbHashObject);
    pbHash = (PUCHAR)HeapAlloc(GetProcessHeap(), 0, g_cbHash);
    if (!pbObject || !pbHash)
        goto done;
    status = BCryptCreateHash(g_hSha256, &hHash, pbObject, g_cbHashObject, NULL, 0, 0);
    if (!BCRYPT_SUCCESS(status))
        goto done;
    status = BCryptHashData(hHash, (PUCHAR)salt, (ULONG)strlen(salt), 0);
    if (BCRYPT_SUCCESS(status))
        status = BCryptHashData(hHash, (PUCHAR)password, (ULONG)strlen(password), 0);
    if (BCRYPT_SUCCESS(status))
        status = BCryptFinishHash(hHash, pbHash, g_cbHash, 0);
    if (!BCRYPT_SUCCESS(status))
        goto done;
    for (i = 0; i < g_cbHash; i++) {
        hex[2 * i] = digits[pbHash[i] >> 4];
        hex[2 * i + 1] = digits[pbHash[i] & 15];
    }
    hex[2 * g_cbHash] = '\0';
    fOk = TRUE;
done:
    if (hHash)
        BCryptDestroyHash(hHash);
    if (pbHash)
        HeapFree(GetProcessHeap(), 0, pbHash);
    if (pbObject)
        HeapFree(GetProcessHeap(), 0, pbObject);
    return fOk;
}

/* Compares two hex digests in time independent of where they differ. */
static BOOL SameDigest(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i;
    unsigned diff = (unsigned)(la ^ lb);

    for (i = 0; i < la && i < lb; i++) {
        char ca = a[i], cb = b[i];
        if (ca >= 'A' && ca <= 'F')
            ca = (char)(ca - 'A' + 'a');
        if (cb >= 'A' && cb <= 'F')
            cb = (char)(cb - 'A' + 'a');
        diff |= (unsigned)(ca ^ cb);
    }
    return diff == 0;
}

/* Looks user up in the users file and checks password. */
static BOOL CheckPassword(const char *user, const char *password)
{
    char line[AUTH_MAX_LINE];
    char computed[2 * 64 + 1];
    BOOL fOk = FALSE;
    FILE *f;

    if (g_cbHash == 0 || g_cbHash > 64)
        return FALSE;
    f = fopen(g_szUsersFile, "r");
    if (!f) {
        OutputDebugStringA("basicauth: cannot open the users file\n");
        return FALSE;
    }
    while (fgets(line, sizeof line, f)) {
        char *salt, *digest, *end;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        salt = strchr(line, ':');
        if (!salt)
            continue;
        *salt++ = '\0';
        digest = strchr(salt, ':');
        if (!digest)
            continue;
        *digest++ = '\0';
        for (end = digest + strlen(digest); end > digest && (end[-1] == ' ' || end[-1] == '\t'); end--)
            end[-1] = '\0';
        if (_stricmp(line, user) != 0)
            continue;
        fOk = HashPassword(salt, password, computed) && SameDigest(computed, digest);
        break;
    }
    fclose(f);
    return fOk;
}

static AUTH_STATE *GetState(PHTTP_FILTER_CONTEXT pfc)
{
    AUTH_STATE *st = (AUTH_STATE *)pfc->pFilterContext;

    if (!st) {
        st = (AUTH_STATE *)pfc->AllocMem(pfc, sizeof *st, 0);
        if (st) {
            memset(st, 0, sizeof *st);
            pfc->pFilterContext = st;
        }
    }
    return st;
}

static DWORD Deny(void)
{
    /* Why ERROR_ACCESS_DENIED: with SF_STATUS_REQ_ERROR it makes the server send its
     * "401 denied by filter" response and raise SF_NOTIFY_ACCESS_DENIED. */
    SetLastError(ERROR_ACCESS_DENIED);
    return SF_STATUS_REQ_ERROR;
}

static DWORD OnAuthentication(PHTTP_FILTER_CONTEXT pfc, PHTTP_FILTER_AUTHENT pAuth)
{
    char *url = GetServerVariableAlloc(pfc, "URL");
    BOOL fProtected = UnderPrefix(url);
    char mapped[SF_MAX_USERNAME];
    AUTH_STATE *st;

    free(url);
    if (!fProtected)
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    if (pAuth->pszUser[0] == '\0' || !CheckPassword(pAuth->pszUser, pAuth->pszPassword))
        return Deny();

    /* Map the name, in place: the server owns the buffer and reads it back afterwards. */
    mapped[0] = '\0';
    if (g_szIni[0])
        GetPrivateProfileStringA("aliases", pAuth->pszUser, "", mapped, sizeof mapped, g_szIni);
    if (mapped[0] && strlen(mapped) < pAuth->cbUserBuff)
        lstrcpyA(pAuth->pszUser, mapped);

    st = GetState(pfc);
    if (!st) {
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return SF_STATUS_REQ_ERROR;
    }
    st->fAuthenticated = TRUE;
    lstrcpynA(st->szUser, pAuth->pszUser, sizeof st->szUser);
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

static DWORD OnAuthComplete(PHTTP_FILTER_CONTEXT pfc, PHTTP_FILTER_AUTH_COMPLETE_INFO pInfo)
{
    AUTH_STATE *st = (AUTH_STATE *)pfc->pFilterContext;

    /* An empty value deletes the header: a client must not be able to send its own. */
    pInfo->SetHeader(pfc, "X-Authenticated-User:",
                     (st && st->fAuthenticated) ? st->szUser : "");
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

static DWORD OnAccessDenied(PHTTP_FILTER_CONTEXT pfc, PHTTP_FILTER_ACCESS_DENIED pDenied)
{
    if (UnderPrefix(pDenied->pszURL))
        pfc->ServerSupportFunction(pfc, SF_REQ_ADD_HEADERS_ON_DENIAL, g_szChallenge, 0, 0);
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

BOOL WINAPI GetFilterVersion(PHTTP_FILTER_VERSION pVer)
{
    ULONG cbResult;
    NTSTATUS status;

    LoadSettings();
    status = BCryptOpenAlgorithmProvider(&g_hSha256, BCRYPT_SHA256_ALGORITHM, NULL, 0);
    if (BCRYPT_SUCCESS(status))
        status = BCryptGetProperty(g_hSha256, BCRYPT_OBJECT_LENGTH, (PUCHAR)&g_cbHashObject,
                                   sizeof g_cbHashObject, &cbResult, 0);
    if (BCRYPT_SUCCESS(status))
        status = BCryptGetProperty(g_hSha256, BCRYPT_HASH_LENGTH, (PUCHAR)&g_cbHash,
                                   sizeof g_cbHash, &cbResult, 0);
    if (!BCRYPT_SUCCESS(status)) {
        if (g_hSha256)
            BCryptCloseAlgorithmProvider(g_hSha256, 0);
        g_hSha256 = NULL;
        /* Why: a filter that cannot check passwords must not load and leave the prefix
         * unprotected; the server logs this error and runs without it. */
        SetLastError(ERROR_NOT_SUPPORTED);
        return FALSE;
    }

    pVer->dwFilterVersion = HTTP_FILTER_REVISION;
    lstrcpynA(pVer->lpszFilterDesc, "basicauth sample: Basic authentication from users.txt",
              SF_MAX_FILTER_DESC_LEN);
    pVer->dwFlags = SF_NOTIFY_SECURE_PORT | SF_NOTIFY_NONSECURE_PORT | SF_NOTIFY_ORDER_HIGH |
                    SF_NOTIFY_AUTHENTICATION | SF_NOTIFY_AUTH_COMPLETE |
                    SF_NOTIFY_ACCESS_DENIED | SF_NOTIFY_END_OF_REQUEST;
    return TRUE;
}

DWORD WINAPI HttpFilterProc(PHTTP_FILTER_CONTEXT pfc, DWORD NotificationType, LPVOID pvNotification)
{
    AUTH_STATE *st;

    switch (NotificationType) {
    case SF_NOTIFY_AUTHENTICATION:
        return OnAuthentication(pfc, (PHTTP_FILTER_AUTHENT)pvNotification);
    case SF_NOTIFY_AUTH_COMPLETE:
        return OnAuthComplete(pfc, (PHTTP_FILTER_AUTH_COMPLETE_INFO)pvNotification);
    case SF_NOTIFY_ACCESS_DENIED:
        return OnAccessDenied(pfc, (PHTTP_FILTER_ACCESS_DENIED)pvNotification);
    case SF_NOTIFY_END_OF_REQUEST:
        st = (AUTH_STATE *)pfc->pFilterContext;
        if (st) {
            st->fAuthenticated = FALSE;
            st->szUser[0] = '\0';
        }
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    default:
        return SF_STATUS_REQ_NEXT_NOTIFICATION;
    }
}

BOOL WINAPI TerminateFilter(DWORD dwFlags)
{
    if (g_hSha256) {
        BCryptCloseAlgorithmProvider(g_hSha256, 0);
        g_hSha256 = NULL;
    }
    return TRUE;
}
