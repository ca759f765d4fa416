/* The environment through getenv and GetEnvironmentVariableA, and a missing variable. */
#include <stdio.h>
#include <stdlib.h>
#include <windows.h>

int main(void)
{
    char buf[256];
    DWORD n;
    const char *v = getenv("GUISE_TEST");
    printf("getenv: %s\n", v ? v : "(null)");
    n = GetEnvironmentVariableA("GUISE_TEST", buf, sizeof buf);
    printf("GetEnvironmentVariableA: %lu [%s]\n", n, n ? buf : "");
    n = GetEnvironmentVariableA("GUISE_TEST", buf, 3);
    printf("too small: %lu\n", n);
    SetLastError(0);
    n = GetEnvironmentVariableA("GUISE_SURELY_UNSET", buf, sizeof buf);
    printf("unset: %lu error %lu\n", n, GetLastError());
    return 0;
}
