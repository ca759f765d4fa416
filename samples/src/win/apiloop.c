/* Calls a trivial API argv[1] times (default 200000): the cost of one trap into the
 * emulated kernel32, for bench/ and for the record. */
#include <stdio.h>
#include <stdlib.h>
#include <windows.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000, i;
    DWORD sum = 0;
    for (i = 0; i < n; i++)
        sum += GetCurrentProcessId() & 1;
    printf("%ld calls\n", n);
    return sum == (DWORD)-1;
}
