/* printf as msvcrt formats it: integer sizes (h, l, ll, I64), flags, widths, precision,
 * floating point, characters, strings wide and narrow, pointers. */
#include <stdio.h>
#include <wchar.h>

int main(void)
{
    long long big = -1234567890123LL;
    unsigned long long ubig = 18446744073709551615ULL;
    int count = 0;
    printf("[%d] [%i] [%u] [%x] [%X] [%o]\n", -42, 42, 4000000000u, 0xbeef, 0xbeef, 8);
    printf("[%5d] [%-5d] [%05d] [%+d] [% d] [%.3d]\n", 42, 42, 42, 42, 42, 7);
    printf("[%#x] [%#o] [%#X] [%x]\n", 255, 8, 255, 0);
    printf("[%lld] [%llu] [%I64d] [%I64x]\n", big, ubig, big, ubig);
    printf("[%hd] [%hu] [%ld] [%lu] [%hhd]\n", (short)-3, (unsigned short)65535, -5L, 5UL, 300);
    printf("[%c] [%3c] [%-3c]\n", 'a', 'b', 'c');
    printf("[%s] [%10s] [%-10s] [%.2s] [%*s] [%-*.*s]\n", "str", "right", "left", "trunc", 6, "star", 6, 2, "ab");
    printf("[%ls] [%S] [%hs]\n", L"wide", L"Swide", "narrow");
    printf("[%f] [%.2f] [%10.3f] [%-10.1f] [%e] [%E] [%.3e]\n", 3.14159, 2.005, -1.5, 0.25, 12345.678, 0.000123, 1e100);
    printf("[%g] [%g] [%g] [%G] [%.3g] [%#g]\n", 100000.0, 1000000.0, 0.0001, 1e-5, 3.14159, 1.0);
    printf("[%f] [%e] [%g]\n", 0.0, 0.0, 0.0);
    printf("[%.0f] [%.0f] [%.0f] [%f] [%g] [%g] [%.10g] [%e]\n", 0.5, 1.5, 2.5, 1e20, 123456789.0, -0.0,
           1.0 / 3, -1.5e-300);
    printf("[%n]", &count);
    printf("[%d]\n", count);
    printf("[%5.1f%%] [%%]\n", 99.5);
    printf("[%p]\n", (void *)0x1234);
    printf("[%s]\n", (char *)0);
    fprintf(stdout, "to %s via fprintf %d\n", "stdout", 1);
    fprintf(stderr, "to stderr %d\n", 2);
    puts("puts line");
    putchar('x');
    putchar('\n');
    fwrite("fwrite\n", 1, 7, stdout);
    return 0;
}
