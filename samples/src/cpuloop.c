/* A pure CPU loop (xorshift), N iterations (default 300 million). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 300000000L;
    uint64_t x = 88172645463325252ULL;
    for (long i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; }
    printf("%llu\n", (unsigned long long)x);
    return 0;
}
