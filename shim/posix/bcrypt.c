/*
 * bcrypt.c - the hashing part of Windows CNG (bcrypt.dll) over OpenSSL libcrypto.
 *
 * An algorithm handle is a small record naming one entry of the algorithm table (its
 * UTF-16 name, its EVP_MD and its sizes) plus the flags it was opened with; a hash handle
 * owns an EVP_MD_CTX and, for HMAC, an EVP_PKEY holding the key. Plain hashes use
 * EVP_DigestInit/Update/Final, HMACs EVP_DigestSignInit/Update/Final (the API that serves
 * HMAC unchanged on OpenSSL 1.1 and 3.x, without the deprecated HMAC_CTX). No
 * cryptography is written here: every digest comes from libcrypto.
 *
 * Both kinds of handle start with a magic number, checked on every call, so a handle of
 * the wrong kind or a destroyed one is answered with STATUS_INVALID_HANDLE instead of being
 * used, as CNG does. Destroying a hash clears the magic before freeing.
 *
 * Why the caller's pbHashObject buffer is only size-checked: CNG places its hash state in
 * that buffer, but an EVP_MD_CTX is allocated by libcrypto in any case, so the state lives
 * on the heap and ObjectLength reports the size of the record that would be needed. Callers
 * cannot tell the difference: they only size the buffer and keep it alive.
 *
 * Algorithm names are matched exactly (case included), as CNG's built-in provider does.
 */
#include <bcrypt.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#define SHIM_BCRYPT_ALG_MAGIC  0x414c4731u /* "ALG1" */
#define SHIM_BCRYPT_HASH_MAGIC 0x48534831u /* "HSH1" */

struct shim_bcrypt_algo {
    const WCHAR *name;           /* the CNG identifier, UTF-16 */
    const EVP_MD *(*md)(void);   /* NULL for the RNG */
    ULONG digest_len;
    ULONG block_len;
};

static const struct shim_bcrypt_algo shim_bcrypt_algos[] = {
    { (const WCHAR *)u"MD5",    EVP_md5,    16, 64 },
    { (const WCHAR *)u"SHA1",   EVP_sha1,   20, 64 },
    { (const WCHAR *)u"SHA256", EVP_sha256, 32, 64 },
    { (const WCHAR *)u"SHA384", EVP_sha384, 48, 128 },
    { (const WCHAR *)u"SHA512", EVP_sha512, 64, 128 },
    { (const WCHAR *)u"RNG",    NULL,       0,  0 },
};

struct shim_bcrypt_alg {
    DWORD magic;
    const struct shim_bcrypt_algo *algo;
    ULONG flags;                 /* BCRYPT_ALG_HANDLE_HMAC_FLAG, BCRYPT_HASH_REUSABLE_FLAG */
};

struct shim_bcrypt_hash {
    DWORD magic;
    const struct shim_bcrypt_algo *algo;
    ULONG flags;                 /* BCRYPT_HASH_REUSABLE_FLAG */
    EVP_MD_CTX *ctx;
    EVP_PKEY *key;               /* HMAC key, NULL for a plain hash */
    BOOL finished;               /* a one-shot hash after BCryptFinishHash */
};

static BOOL shim__wstr_eq(const WCHAR *a, const WCHAR *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static struct shim_bcrypt_alg *shim__bcrypt_alg(BCRYPT_HANDLE h)
{
    struct shim_bcrypt_alg *alg = h;
    return (alg && alg->magic == SHIM_BCRYPT_ALG_MAGIC) ? alg : NULL;
}

static struct shim_bcrypt_hash *shim__bcrypt_hash(BCRYPT_HANDLE h)
{
    struct shim_bcrypt_hash *hash = h;
    return (hash && hash->magic == SHIM_BCRYPT_HASH_MAGIC) ? hash : NULL;
}

/* (Re)starts the digest or HMAC computation. Returns 0 on success. */
static int shim__bcrypt_start(struct shim_bcrypt_hash *hash)
{
    EVP_MD_CTX_reset(hash->ctx);
    if (hash->key)
        return EVP_DigestSignInit(hash->ctx, NULL, hash->algo->md(), NULL, hash->key) == 1 ? 0 : -1;
    return EVP_DigestInit_ex(hash->ctx, hash->algo->md(), NULL) == 1 ? 0 : -1;
}

static void shim__bcrypt_free_hash(struct shim_bcrypt_hash *hash)
{
    hash->magic = 0;
    EVP_MD_CTX_free(hash->ctx);
    EVP_PKEY_free(hash->key);
    free(hash);
}

/*** BCryptOpenAlgorithmProvider (shim bcrypt) ***/
NTSTATUS WINAPI BCryptOpenAlgorithmProvider(BCRYPT_ALG_HANDLE *phAlgorithm, LPCWSTR pszAlgId,
                                            LPCWSTR pszImplementation, ULONG dwFlags)
{
    const struct shim_bcrypt_algo *algo = NULL;
    struct shim_bcrypt_alg *alg;
    size_t i;

    if (!phAlgorithm || !pszAlgId)
        return STATUS_INVALID_PARAMETER;
    if (dwFlags & ~(ULONG)(BCRYPT_ALG_HANDLE_HMAC_FLAG | BCRYPT_HASH_REUSABLE_FLAG))
        return STATUS_INVALID_PARAMETER;
    if (pszImplementation && !shim__wstr_eq(pszImplementation, MS_PRIMITIVE_PROVIDER))
        return STATUS_NOT_FOUND;
    for (i = 0; i < sizeof shim_bcrypt_algos / sizeof shim_bcrypt_algos[0]; i++) {
        if (shim__wstr_eq(pszAlgId, shim_bcrypt_algos[i].name)) {
            algo = &shim_bcrypt_algos[i];
            break;
        }
    }
    if (!algo)
        return STATUS_NOT_FOUND;
    if (!algo->md && dwFlags)
        return STATUS_INVALID_PARAMETER;

    alg = calloc(1, sizeof *alg);
    if (!alg)
        return STATUS_NO_MEMORY;
    alg->magic = SHIM_BCRYPT_ALG_MAGIC;
    alg->algo = algo;
    alg->flags = dwFlags;
    *phAlgorithm = alg;
    return STATUS_SUCCESS;
}

/*** BCryptCloseAlgorithmProvider (shim bcrypt) ***/
NTSTATUS WINAPI BCryptCloseAlgorithmProvider(BCRYPT_ALG_HANDLE hAlgorithm, ULONG dwFlags)
{
    struct shim_bcrypt_alg *alg = shim__bcrypt_alg(hAlgorithm);

    if (!alg)
        return STATUS_INVALID_HANDLE;
    alg->magic = 0;
    free(alg);
    return STATUS_SUCCESS;
}

/*** BCryptGetProperty (shim bcrypt) ***/
NTSTATUS WINAPI BCryptGetProperty(BCRYPT_HANDLE hObject, LPCWSTR pszProperty, PUCHAR pbOutput,
                                  ULONG cbOutput, ULONG *pcbResult, ULONG dwFlags)
{
    const struct shim_bcrypt_algo *algo;
    struct shim_bcrypt_alg *alg = shim__bcrypt_alg(hObject);
    struct shim_bcrypt_hash *hash = shim__bcrypt_hash(hObject);
    const void *value;
    DWORD number;
    ULONG size;

    if (!alg && !hash)
        return STATUS_INVALID_HANDLE;
    if (!pszProperty || !pcbResult)
        return STATUS_INVALID_PARAMETER;
    algo = alg ? alg->algo : hash->algo;

    if (algo->md && shim__wstr_eq(pszProperty, BCRYPT_OBJECT_LENGTH)) {
        number = (DWORD)sizeof(struct shim_bcrypt_hash);
    } else if (algo->md && shim__wstr_eq(pszProperty, BCRYPT_HASH_LENGTH)) {
        number = algo->digest_len;
    } else if (algo->md && shim__wstr_eq(pszProperty, BCRYPT_HASH_BLOCK_LENGTH)) {
        number = algo->block_len;
    } else if (shim__wstr_eq(pszProperty, BCRYPT_ALGORITHM_NAME)) {
        const WCHAR *end = algo->name;
        while (*end)
            end++;
        value = algo->name;
        size = (ULONG)((size_t)(end - algo->name + 1) * sizeof(WCHAR));
        goto copy;
    } else {
        return STATUS_NOT_SUPPORTED;
    }
    value = &number;
    size = sizeof number;

copy:
    *pcbResult = size;
    if (!pbOutput)
        return STATUS_SUCCESS;
    if (cbOutput < size)
        return STATUS_BUFFER_TOO_SMALL;
    memcpy(pbOutput, value, size);
    return STATUS_SUCCESS;
}

/*** BCryptCreateHash (shim bcrypt) ***/
NTSTATUS WINAPI BCryptCreateHash(BCRYPT_ALG_HANDLE hAlgorithm, BCRYPT_HASH_HANDLE *phHash,
                                 PUCHAR pbHashObject, ULONG cbHashObject, PUCHAR pbSecret,
                                 ULONG cbSecret, ULONG dwFlags)
{
    /* Why a static byte: OpenSSL wants a non-NULL key pointer even for an empty HMAC key,
     * which CNG accepts (pbSecret NULL, cbSecret 0). */
    static const unsigned char empty_key[1];
    struct shim_bcrypt_alg *alg = shim__bcrypt_alg(hAlgorithm);
    struct shim_bcrypt_hash *hash;

    if (!alg || !alg->algo->md)
        return STATUS_INVALID_HANDLE;
    if (!phHash || (dwFlags & ~(ULONG)BCRYPT_HASH_REUSABLE_FLAG) || (!pbSecret && cbSecret))
        return STATUS_INVALID_PARAMETER;
    if (pbHashObject && cbHashObject < sizeof(struct shim_bcrypt_hash))
        return STATUS_BUFFER_TOO_SMALL;

    hash = calloc(1, sizeof *hash);
    if (!hash)
        return STATUS_NO_MEMORY;
    hash->magic = SHIM_BCRYPT_HASH_MAGIC;
    hash->algo = alg->algo;
    hash->flags = (dwFlags | alg->flags) & BCRYPT_HASH_REUSABLE_FLAG;
    hash->ctx = EVP_MD_CTX_new();
    if (alg->flags & BCRYPT_ALG_HANDLE_HMAC_FLAG)
        hash->key = EVP_PKEY_new_raw_private_key(EVP_PKEY_HMAC, NULL,
                                                 cbSecret ? pbSecret : empty_key, cbSecret);
    if (!hash->ctx || ((alg->flags & BCRYPT_ALG_HANDLE_HMAC_FLAG) && !hash->key)) {
        shim__bcrypt_free_hash(hash);
        return STATUS_NO_MEMORY;
    }
    if (shim__bcrypt_start(hash) != 0) {
        shim__bcrypt_free_hash(hash);
        return STATUS_UNSUCCESSFUL;
    }
    *phHash = hash;
    return STATUS_SUCCESS;
}

/*** BCryptHashData (shim bcrypt) ***/
NTSTATUS WINAPI BCryptHashData(BCRYPT_HASH_HANDLE hHash, PUCHAR pbInput, ULONG cbInput,
                               ULONG dwFlags)
{
    struct shim_bcrypt_hash *hash = shim__bcrypt_hash(hHash);
    int ok;

    if (!hash || hash->finished)
        return STATUS_INVALID_HANDLE;
    if ((!pbInput && cbInput) || dwFlags)
        return STATUS_INVALID_PARAMETER;
    if (!cbInput)
        return STATUS_SUCCESS;
    ok = hash->key ? EVP_DigestSignUpdate(hash->ctx, pbInput, cbInput)
                   : EVP_DigestUpdate(hash->ctx, pbInput, cbInput);
    return ok == 1 ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
}

/*** BCryptFinishHash (shim bcrypt) ***/
NTSTATUS WINAPI BCryptFinishHash(BCRYPT_HASH_HANDLE hHash, PUCHAR pbOutput, ULONG cbOutput,
                                 ULONG dwFlags)
{
    struct shim_bcrypt_hash *hash = shim__bcrypt_hash(hHash);
    unsigned int mdlen = 0;
    size_t maclen;
    int ok;

    if (!hash || hash->finished)
        return STATUS_INVALID_HANDLE;
    /* Why exact size: CNG refuses any output size other than the digest length. */
    if (!pbOutput || cbOutput != hash->algo->digest_len || dwFlags)
        return STATUS_INVALID_PARAMETER;
    if (hash->key) {
        maclen = cbOutput;
        ok = EVP_DigestSignFinal(hash->ctx, pbOutput, &maclen) == 1 && maclen == cbOutput;
    } else {
        ok = EVP_DigestFinal_ex(hash->ctx, pbOutput, &mdlen) == 1 && mdlen == cbOutput;
    }
    if (!ok)
        return STATUS_UNSUCCESSFUL;
    if (hash->flags & BCRYPT_HASH_REUSABLE_FLAG)
        return shim__bcrypt_start(hash) == 0 ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
    hash->finished = TRUE;
    return STATUS_SUCCESS;
}

/*** BCryptDuplicateHash (shim bcrypt) ***/
NTSTATUS WINAPI BCryptDuplicateHash(BCRYPT_HASH_HANDLE hHash, BCRYPT_HASH_HANDLE *phNewHash,
                                    PUCHAR pbHashObject, ULONG cbHashObject, ULONG dwFlags)
{
    struct shim_bcrypt_hash *hash = shim__bcrypt_hash(hHash);
    struct shim_bcrypt_hash *copy;

    if (!hash || hash->finished)
        return STATUS_INVALID_HANDLE;
    if (!phNewHash || dwFlags)
        return STATUS_INVALID_PARAMETER;
    if (pbHashObject && cbHashObject < sizeof(struct shim_bcrypt_hash))
        return STATUS_BUFFER_TOO_SMALL;

    copy = calloc(1, sizeof *copy);
    if (!copy)
        return STATUS_NO_MEMORY;
    *copy = *hash;
    copy->ctx = EVP_MD_CTX_new();
    copy->key = NULL;
    if (!copy->ctx || EVP_MD_CTX_copy_ex(copy->ctx, hash->ctx) != 1) {
        shim__bcrypt_free_hash(copy);
        return STATUS_NO_MEMORY;
    }
    if (hash->key) {
        EVP_PKEY_up_ref(hash->key);
        copy->key = hash->key;
    }
    *phNewHash = copy;
    return STATUS_SUCCESS;
}

/*** BCryptDestroyHash (shim bcrypt) ***/
NTSTATUS WINAPI BCryptDestroyHash(BCRYPT_HASH_HANDLE hHash)
{
    struct shim_bcrypt_hash *hash = shim__bcrypt_hash(hHash);

    /* Why not STATUS_INVALID_HANDLE: CNG answers a NULL or already destroyed hash here
     * with STATUS_INVALID_PARAMETER (Wine's conformance tests record it). */
    if (!hash)
        return STATUS_INVALID_PARAMETER;
    shim__bcrypt_free_hash(hash);
    return STATUS_SUCCESS;
}

/*** BCryptHash (shim bcrypt) ***/
NTSTATUS WINAPI BCryptHash(BCRYPT_ALG_HANDLE hAlgorithm, PUCHAR pbSecret, ULONG cbSecret,
                           PUCHAR pbInput, ULONG cbInput, PUCHAR pbOutput, ULONG cbOutput)
{
    BCRYPT_HASH_HANDLE hash;
    NTSTATUS status;

    status = BCryptCreateHash(hAlgorithm, &hash, NULL, 0, pbSecret, cbSecret, 0);
    if (!BCRYPT_SUCCESS(status))
        return status;
    status = BCryptHashData(hash, pbInput, cbInput, 0);
    if (BCRYPT_SUCCESS(status))
        status = BCryptFinishHash(hash, pbOutput, cbOutput, 0);
    BCryptDestroyHash(hash);
    return status;
}

/*** BCryptGenRandom (shim bcrypt) ***/
NTSTATUS WINAPI BCryptGenRandom(BCRYPT_ALG_HANDLE hAlgorithm, PUCHAR pbBuffer, ULONG cbBuffer,
                                ULONG dwFlags)
{
    struct shim_bcrypt_alg *alg = shim__bcrypt_alg(hAlgorithm);
    ULONG done = 0;

    if (dwFlags & ~(ULONG)BCRYPT_USE_SYSTEM_PREFERRED_RNG)
        return STATUS_INVALID_PARAMETER;
    if (dwFlags & BCRYPT_USE_SYSTEM_PREFERRED_RNG) {
        if (hAlgorithm)
            return STATUS_INVALID_PARAMETER;
    } else if (!alg || alg->algo->md) {
        return STATUS_INVALID_HANDLE;
    }
    if (!pbBuffer && cbBuffer)
        return STATUS_INVALID_PARAMETER;
    while (done < cbBuffer) {
        ULONG chunk = cbBuffer - done;
        if (chunk > INT_MAX)
            chunk = INT_MAX;
        if (RAND_bytes(pbBuffer + done, (int)chunk) != 1)
            return STATUS_UNSUCCESSFUL;
        done += chunk;
    }
    return STATUS_SUCCESS;
}
