/*
 * hello.c - the benchmark's hello-world ISAPI extension: every request gets the same
 * 64-byte text/plain answer, framed with Content-Length and offered for keep-alive
 * (HSE_REQ_SEND_RESPONSE_HEADER_EX with fKeepConn TRUE), then one WriteClient.
 *
 * tests/bench/run.py scenario X1 maps ".hello" to it and compares it with nginx answering
 * the same 64 bytes from its configuration (`return 200`): the cost of the extension path
 * (control block, header block, SEND_RAW_DATA, keep-alive decision) against a server that
 * answers from memory.
 */
#include <windows.h>
#include <httpext.h>

/* 63 characters and a newline; run.py's nginx configuration answers the same bytes. */
static const char g_answer[] = "isapihost benchmark: hello, world, from an ISAPI extension.....\n";
static const char g_header[] = "Content-Type: text/plain\r\nContent-Length: 64\r\n\r\n";

BOOL WINAPI GetExtensionVersion(HSE_VERSION_INFO *pVer);
DWORD WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *pECB);

BOOL WINAPI GetExtensionVersion(HSE_VERSION_INFO *pVer)
{
    pVer->dwExtensionVersion = HSE_VERSION;
    lstrcpynA(pVer->lpszExtensionDesc, "isapihost benchmark hello extension",
              HSE_MAX_EXT_DLL_NAME_LEN);
    return TRUE;
}

DWORD WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *pECB)
{
    HSE_SEND_HEADER_EX_INFO hi = { "200 OK", g_header, 6, sizeof g_header - 1, TRUE };
    DWORD n = sizeof g_answer - 1;
    if (!pECB->ServerSupportFunction(pECB->ConnID, HSE_REQ_SEND_RESPONSE_HEADER_EX, &hi, NULL,
                                     NULL)
        || !pECB->WriteClient(pECB->ConnID, (LPVOID)g_answer, &n, HSE_IO_SYNC))
        return HSE_STATUS_ERROR;
    return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
}
