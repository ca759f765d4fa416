/* Ends by an unhandled exception chosen by argv[1]: "null" writes through a NULL
 * pointer, "strlen" hands NULL to msvcrt's strlen, "div" divides by zero.  Windows
 * ends such a process with the NTSTATUS as its exit code (0xC0000005, 0xC0000094).
 * "writefile" is the contrast: kernel32 checks the buffer and returns an error. */
#include <stdio.h>
#include <string.h>
#include <windows.h>

int main(int argc, char **argv)
{
    volatile int zero = 0;
    char *volatile nothing = NULL;
    const char *mode = argc > 1 ? argv[1] : "null";
    printf("crash: %s\n", mode);
    fflush(stdout);
    if (strcmp(mode, "strlen") == 0)
        return (int)strlen(nothing);
    if (strcmp(mode, "div") == 0)
        return 10 / zero;
    if (strcmp(mode, "writefile") == 0) {
        DWORD n = 0;
        BOOL ok = WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), nothing, 10, &n, NULL);
        printf("WriteFile(NULL buffer): %d, error %lu\n", ok, GetLastError());
        return 0;
    }
    *(volatile int *)nothing = 1;
    return 0;
}
