/* Bad pointers handed to the API: what Windows does with each.  lstrlen catches
 * the fault and returns 0, lstrcpy/lstrcat return NULL with ERROR_INVALID_PARAMETER,
 * and ReadFile fails with ERROR_NOACCESS, as the kernel's probe makes it.  The
 * CRT's strlen and GetSystemTime fault inside the call: with an argument, a
 * vectored handler sees the access violation (or nobody does, with "unhandled":
 * the process ends with 0xC0000005). */
#include <stdio.h>
#include <string.h>
#include <windows.h>

static LONG CALLBACK vectored(EXCEPTION_POINTERS *ep)
{
    EXCEPTION_RECORD *r = ep->ExceptionRecord;
    printf("vectored: code %#lx, %s", r->ExceptionCode, r->ExceptionInformation[0] ? "write" : "read");
    if (r->ExceptionInformation[1] < 0x1000)
        printf(" at %#lx", (unsigned long)r->ExceptionInformation[1]);
    printf("\n");
    ExitProcess(3);
}

int main(int argc, char **argv)
{
    char buf[32] = "abc";
    DWORD n = 7;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1) {
        if (strstr(argv[1], "unhandled") == NULL)
            AddVectoredExceptionHandler(1, vectored);
        printf("calling %s\n", argv[1]);
        if (strncmp(argv[1], "strlen", 6) == 0)
            printf("strlen: %u\n", (unsigned)strlen((char *)1));
        else
            GetSystemTime((SYSTEMTIME *)8);
        printf("not reached\n");
        return 0;
    }
    printf("lstrlenA: %d\n", lstrlenA((char *)1));
    printf("lstrlenW: %d\n", lstrlenW((WCHAR *)1));
    SetLastError(0);
    char *r = lstrcpyA(buf, (char *)1);
    printf("lstrcpyA from a bad pointer: %s, error %lu, buffer %s\n", r ? "buf" : "NULL", GetLastError(), buf);
    SetLastError(0);
    r = lstrcpyA((char *)1, "x");
    printf("lstrcpyA to a bad pointer: %s, error %lu\n", r ? "buf" : "NULL", GetLastError());
    SetLastError(0);
    r = lstrcatA(buf, (char *)1);
    printf("lstrcatA: %s, error %lu\n", r ? "buf" : "NULL", GetLastError());
    HANDLE rd, wr;
    CreatePipe(&rd, &wr, NULL, 0);
    WriteFile(wr, "data", 4, &n, NULL);
    n = 7;
    SetLastError(0);
    BOOL ok = ReadFile(rd, (void *)1, 4, &n, NULL);
    printf("ReadFile: %d, error %lu, read %lu\n", ok, GetLastError(), n);
    return 0;
}
