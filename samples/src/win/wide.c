/* Unicode: wmain (argv from __wgetmainargs), GetCommandLineW, code-page conversions
 * (UTF-8 and 1252 through UTF-16), wide printf of wide and narrow strings (%ls/%hs:
 * plain %s and %S mean different things to msvcrt and to C99, so they are avoided). */
#include <stdio.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>

int wmain(int argc, wchar_t **argv)
{
    char utf8[64], ansi[64];
    wchar_t back[64];
    const char *euro_utf8 = "caf\xc3\xa9 \xe2\x82\xac";       /* "café €" in UTF-8 */
    int n, i;
    wprintf(L"argc=%d\n", argc);
    for (i = 1; i < argc; i++)
        wprintf(L"argv[%d]=[%ls] (%u chars)\n", i, argv[i], (unsigned)wcslen(argv[i]));
    n = MultiByteToWideChar(CP_UTF8, 0, euro_utf8, -1, back, 64);
    wprintf(L"utf8 -> utf16: %d units, last %04x\n", n, back[n - 2]);
    n = WideCharToMultiByte(1252, 0, back, -1, ansi, sizeof ansi, NULL, NULL);
    printf("utf16 -> 1252: %d bytes:", n);
    for (i = 0; i < n; i++)
        printf(" %02x", (unsigned char)ansi[i]);
    printf("\n");
    n = WideCharToMultiByte(CP_UTF8, 0, back, -1, utf8, sizeof utf8, NULL, NULL);
    printf("round trip %s (%d bytes)\n", strcmp(utf8, euro_utf8) == 0 ? "same" : "differs", n);
    n = MultiByteToWideChar(CP_UTF8, 0, euro_utf8, -1, NULL, 0);
    printf("size query: %d\n", n);
    SetLastError(0);
    n = WideCharToMultiByte(CP_UTF8, 0, back, -1, utf8, 3, NULL, NULL);
    printf("too small: %d error %lu\n", n, GetLastError());
    wprintf(L"%ls|%hs|%5.3ls|\n", L"wide", "narrow", L"truncated");
    return 0;
}
