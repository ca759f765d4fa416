/* Deep recursion and a large variable-length array on the main stack. */
#include <stdio.h>
#include <string.h>

static long deep(int n) {
    volatile char pad[128];
    memset((char *)pad, n & 0xff, sizeof pad);
    if (n == 0) return pad[5];
    return deep(n - 1) + pad[n % 128];
}

int main(void) {
    printf("deep %ld\n", deep(20000));
    int n = 1 << 20;
    volatile char vla[n];
    for (int i = 0; i < n; i += 512) vla[i] = (char)(i >> 9);
    long s = 0;
    for (int i = 0; i < n; i += 512) s += vla[i];
    printf("vla %ld\n", s);
    return 0;
}
