/* argv as the CRT split it (Windows quoting rules), and the raw command line's tail. */
#include <stdio.h>
#include <string.h>
#include <windows.h>

int main(int argc, char **argv)
{
    int i;
    printf("argc=%d\n", argc);
    for (i = 1; i < argc; i++)
        printf("argv[%d]=[%s] len=%u\n", i, argv[i], (unsigned)strlen(argv[i]));
    return argc;
}
