/* Heap, anonymous mappings, protection changes, mremap, brk. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static uint32_t sum(const unsigned char *p, size_t n) { uint32_t s = 0; for (size_t i = 0; i < n; i++) s = s * 31 + p[i]; return s; }

int main(void) {
    uint32_t total = 0;
    for (int round = 0; round < 3; round++) {
        void *blocks[200];
        for (int i = 0; i < 200; i++) {
            size_t n = (size_t)(i * 37 % 5000) + 1;
            blocks[i] = malloc(n);
            memset(blocks[i], i & 0xff, n);
            total += sum(blocks[i], n);
        }
        for (int i = 0; i < 200; i += 2) free(blocks[i]);
        for (int i = 1; i < 200; i += 2) blocks[i] = realloc(blocks[i], 10000), free(blocks[i]);
    }
    printf("malloc checksum %u\n", total);
    unsigned char *g = malloc(100);
    for (int i = 0; i < 100; i++) g[i] = (unsigned char)(i * 7 + 1);
    uint32_t want = sum(g, 100);
    size_t sizes[] = {1000, 100000, 4u << 20, 200, 16u << 20};
    for (int i = 0; i < 5; i++) {
        g = realloc(g, sizes[i]);
        printf("realloc to %zu kept %s\n", sizes[i], g && sum(g, 100) == want ? "yes" : "no");
        memset(g + 100, 0x5a, sizes[i] - 100);
    }
    free(g);
    int *z = calloc(100000, sizeof *z);
    long nz = 0;
    for (int i = 0; i < 100000; i++) nz += z[i] != 0;
    printf("calloc nonzero %ld\n", nz);
    free(z);
    size_t big = 64u << 20;
    unsigned char *b = malloc(big);
    for (size_t i = 0; i < big; i += 4096) b[i] = (unsigned char)(i >> 12);
    uint32_t bs = 0;
    for (size_t i = 0; i < big; i += 4096) bs += b[i];
    printf("64MiB touched sum %u\n", bs);
    free(b);

    unsigned char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap ok %d zero %d\n", m != MAP_FAILED, m[5000] == 0);
    memset(m, 7, 3 * 4096);
    printf("mprotect ro %d\n", mprotect(m, 4096, PROT_READ));
    printf("mprotect rw %d\n", mprotect(m, 4096, PROT_READ | PROT_WRITE));
    m[0] = 9;
    unsigned char *m2 = mremap(m, 3 * 4096, 64 * 4096, MREMAP_MAYMOVE);
    printf("mremap ok %d kept %d %d\n", m2 != MAP_FAILED, m2[0], m2[3 * 4096 - 1]);
    printf("munmap middle %d\n", munmap(m2 + 4096, 4096));
    printf("munmap rest %d %d\n", munmap(m2, 4096), munmap(m2 + 2 * 4096, 62 * 4096));
    unsigned char *d = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(d, 1, 4096);
    madvise(d, 4096, MADV_DONTNEED);
    printf("after MADV_DONTNEED %d\n", d[100]);
    void *cur = sbrk(0);
    if (cur != (void *)-1 && brk((char *)cur + 100000) == 0) {
        memset(cur, 3, 100000);
        printf("brk grew, last byte %d\n", ((unsigned char *)cur)[99999]);
        unsigned char *old = sbrk(8192);
        if (old != (void *)-1) {
            memset(old, 4, 8192);
            printf("sbrk grew at old end %s, kept %d %d\n", old == (unsigned char *)cur + 100000 ? "yes" : "no",
                   ((unsigned char *)cur)[0], old[8191]);
        } else {
            printf("sbrk not available\n");
        }
    } else {
        printf("brk not available\n");
    }
    return 0;
}
