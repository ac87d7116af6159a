/*
 * bcrypt.h (shim) - the hashing part of the Windows CNG API (bcrypt.dll) for POSIX builds,
 * implemented by libshim over OpenSSL's libcrypto (shim/posix/bcrypt.c). On Windows the
 * real header is used and filters link bcrypt.dll.
 *
 * Implemented: algorithm providers for MD5, SHA1, SHA256, SHA384, SHA512 (plain or HMAC
 * with BCRYPT_ALG_HANDLE_HMAC_FLAG) and RNG; BCryptGetProperty for ObjectLength,
 * HashDigestLength, HashBlockLength and AlgorithmName; hash objects (create, hash, finish,
 * duplicate, destroy, one-shot BCryptHash); BCryptGenRandom. Keys, ciphers, signatures and
 * key derivation are not implemented.
 *
 * Every function returns an NTSTATUS, as on Windows: STATUS_SUCCESS (0) or a negative
 * STATUS_* code; test results with BCRYPT_SUCCESS(). Nothing sets the Win32 last error.
 *
 * Algorithm and property names are UTF-16 strings (LPCWSTR) as on Windows. WCHAR is 16-bit
 * here too, so the names are u"" literals: a Windows L"" literal would be 32-bit wchar_t.
 */
#ifndef SHIM_BCRYPT_H
#define SHIM_BCRYPT_H

#include <windows.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef _NTSTATUS_PSDK
#define _NTSTATUS_PSDK
typedef LONG NTSTATUS, *PNTSTATUS;
#endif

#ifndef BCRYPT_SUCCESS
#define BCRYPT_SUCCESS(Status) (((NTSTATUS)(Status)) >= 0)
#endif

/* NTSTATUS values (ntstatus.h on Windows) that these functions return. */
#ifndef STATUS_SUCCESS
#define STATUS_SUCCESS              ((NTSTATUS)0x00000000)
#endif
#ifndef STATUS_UNSUCCESSFUL
#define STATUS_UNSUCCESSFUL         ((NTSTATUS)0xC0000001)
#endif
#ifndef STATUS_INVALID_HANDLE
#define STATUS_INVALID_HANDLE       ((NTSTATUS)0xC0000008)
#endif
#ifndef STATUS_INVALID_PARAMETER
#define STATUS_INVALID_PARAMETER    ((NTSTATUS)0xC000000D)
#endif
#ifndef STATUS_NO_MEMORY
#define STATUS_NO_MEMORY            ((NTSTATUS)0xC0000017)
#endif
#ifndef STATUS_BUFFER_TOO_SMALL
#define STATUS_BUFFER_TOO_SMALL     ((NTSTATUS)0xC0000023)
#endif
#ifndef STATUS_NOT_SUPPORTED
#define STATUS_NOT_SUPPORTED        ((NTSTATUS)0xC00000BB)
#endif
#ifndef STATUS_NOT_FOUND
#define STATUS_NOT_FOUND            ((NTSTATUS)0xC0000225)
#endif

typedef PVOID BCRYPT_HANDLE;
typedef PVOID BCRYPT_ALG_HANDLE;
typedef PVOID BCRYPT_HASH_HANDLE;
typedef PVOID BCRYPT_KEY_HANDLE;

/* Algorithm identifiers (UTF-16). */
#define BCRYPT_MD5_ALGORITHM    ((LPCWSTR)u"MD5")
#define BCRYPT_SHA1_ALGORITHM   ((LPCWSTR)u"SHA1")
#define BCRYPT_SHA256_ALGORITHM ((LPCWSTR)u"SHA256")
#define BCRYPT_SHA384_ALGORITHM ((LPCWSTR)u"SHA384")
#define BCRYPT_SHA512_ALGORITHM ((LPCWSTR)u"SHA512")
#define BCRYPT_RNG_ALGORITHM    ((LPCWSTR)u"RNG")

/* The one provider there is (NULL means the same). */
#define MS_PRIMITIVE_PROVIDER   ((LPCWSTR)u"Microsoft Primitive Provider")

/* Property names (UTF-16). The numeric ones answer a DWORD. */
#define BCRYPT_OBJECT_LENGTH     ((LPCWSTR)u"ObjectLength")
#define BCRYPT_HASH_LENGTH       ((LPCWSTR)u"HashDigestLength")
#define BCRYPT_HASH_BLOCK_LENGTH ((LPCWSTR)u"HashBlockLength")
#define BCRYPT_ALGORITHM_NAME    ((LPCWSTR)u"AlgorithmName")

/* Flags */
#define BCRYPT_ALG_HANDLE_HMAC_FLAG     0x00000008
#define BCRYPT_HASH_REUSABLE_FLAG       0x00000020
#define BCRYPT_USE_SYSTEM_PREFERRED_RNG 0x00000002

/* Opens a provider for pszAlgId. pszImplementation must be NULL or MS_PRIMITIVE_PROVIDER.
 * dwFlags: 0, BCRYPT_ALG_HANDLE_HMAC_FLAG and/or BCRYPT_HASH_REUSABLE_FLAG (hashes only).
 * Returns STATUS_NOT_FOUND for an unknown algorithm or provider, STATUS_INVALID_PARAMETER
 * for NULL arguments or unknown flags. Close the handle with BCryptCloseAlgorithmProvider
 * after every hash created from it has been destroyed. */
NTSTATUS WINAPI BCryptOpenAlgorithmProvider(BCRYPT_ALG_HANDLE *phAlgorithm, LPCWSTR pszAlgId,
                                            LPCWSTR pszImplementation, ULONG dwFlags);
NTSTATUS WINAPI BCryptCloseAlgorithmProvider(BCRYPT_ALG_HANDLE hAlgorithm, ULONG dwFlags);

/* Reads a property of an algorithm or hash handle. pbOutput NULL: only *pcbResult is set.
 * cbOutput too small: STATUS_BUFFER_TOO_SMALL, *pcbResult = the size needed. Unknown
 * property: STATUS_NOT_SUPPORTED. */
NTSTATUS WINAPI BCryptGetProperty(BCRYPT_HANDLE hObject, LPCWSTR pszProperty, PUCHAR pbOutput,
                                  ULONG cbOutput, ULONG *pcbResult, ULONG dwFlags);

/* Creates a hash (an HMAC when the provider was opened with BCRYPT_ALG_HANDLE_HMAC_FLAG;
 * pbSecret is then the key). pbHashObject may be NULL (cbHashObject 0); a caller-supplied
 * object buffer must be at least ObjectLength bytes (else STATUS_BUFFER_TOO_SMALL) and stay
 * valid until BCryptDestroyHash. */
NTSTATUS WINAPI BCryptCreateHash(BCRYPT_ALG_HANDLE hAlgorithm, BCRYPT_HASH_HANDLE *phHash,
                                 PUCHAR pbHashObject, ULONG cbHashObject, PUCHAR pbSecret,
                                 ULONG cbSecret, ULONG dwFlags);
NTSTATUS WINAPI BCryptHashData(BCRYPT_HASH_HANDLE hHash, PUCHAR pbInput, ULONG cbInput,
                               ULONG dwFlags);
/* cbOutput must equal HashDigestLength (else STATUS_INVALID_PARAMETER). A reusable hash
 * starts over afterwards; a one-shot hash answers STATUS_INVALID_HANDLE to further use. */
NTSTATUS WINAPI BCryptFinishHash(BCRYPT_HASH_HANDLE hHash, PUCHAR pbOutput, ULONG cbOutput,
                                 ULONG dwFlags);
NTSTATUS WINAPI BCryptDuplicateHash(BCRYPT_HASH_HANDLE hHash, BCRYPT_HASH_HANDLE *phNewHash,
                                    PUCHAR pbHashObject, ULONG cbHashObject, ULONG dwFlags);
/* A NULL or already destroyed handle: STATUS_INVALID_PARAMETER, as CNG answers. */
NTSTATUS WINAPI BCryptDestroyHash(BCRYPT_HASH_HANDLE hHash);

/* One call: hash (or HMAC, with pbSecret) of pbInput into pbOutput (exactly the digest size). */
NTSTATUS WINAPI BCryptHash(BCRYPT_ALG_HANDLE hAlgorithm, PUCHAR pbSecret, ULONG cbSecret,
                           PUCHAR pbInput, ULONG cbInput, PUCHAR pbOutput, ULONG cbOutput);

/* Random bytes: hAlgorithm an RNG provider, or NULL with BCRYPT_USE_SYSTEM_PREFERRED_RNG. */
NTSTATUS WINAPI BCryptGenRandom(BCRYPT_ALG_HANDLE hAlgorithm, PUCHAR pbBuffer, ULONG cbBuffer,
                                ULONG dwFlags);

#ifdef __cplusplus
}
#endif

#endif /* SHIM_BCRYPT_H */
