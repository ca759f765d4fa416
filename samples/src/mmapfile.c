/* File mappings: private read-only, with an offset, shared writable written back,
   and the zero-filled tail of a file's last, partial page. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG 4096

static int pattern(int off) { return (off / PG) * 50 + off % PG % 50; }

int main(void) {
    const char *path = "guise-mmap.dat";
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd < 0) { perror("open"); return 1; }
    unsigned char page[PG];
    for (int p = 0; p < 3; p++) {
        for (int i = 0; i < PG; i++) page[i] = (unsigned char)pattern(p * PG + i);
        if (write(fd, page, sizeof page) != sizeof page) { perror("write"); return 1; }
    }

    unsigned char *m = mmap(NULL, 3 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) { perror("mmap"); return 1; }
    printf("private: %d %d %d\n", m[10], m[PG + 10], m[2 * PG + 49]);
    int bad = 0;
    for (int off = 0; off < 3 * PG; off += 97) bad += m[off] != pattern(off);
    printf("private pattern mismatches: %d\n", bad);

    unsigned char *o = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, PG);
    printf("offset map: %d %d\n", o[10], o[PG - 1]);
    munmap(o, PG);

    unsigned char *s = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    s[100] = 222;
    s[2 * PG + 7] = 33;
    printf("msync %d\n", msync(s, 3 * PG, MS_SYNC));
    printf("munmap shared %d\n", munmap(s, 3 * PG));
    unsigned char c[2] = {0, 0};
    lseek(fd, 100, SEEK_SET);
    ssize_t r0 = read(fd, &c[0], 1);
    lseek(fd, 2 * PG + 7, SEEK_SET);
    ssize_t r1 = read(fd, &c[1], 1);
    printf("read after shared write: %zd %d, %zd %d\n", r0, c[0], r1, c[1]);
    munmap(m, 3 * PG);

    /* shrink the file to 2 pages + 100 bytes: the rest of the last page maps as zeros */
    printf("ftruncate %d\n", ftruncate(fd, 2 * PG + 100));
    unsigned char *t = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 2 * PG);
    int nonzero = 0;
    for (int i = 100; i < PG; i++) nonzero += t[i] != 0;
    printf("partial page: %d %d, tail nonzero bytes %d\n", t[7], t[99], nonzero);
    munmap(t, PG);
    close(fd);
    printf("unlink %d\n", unlink(path));
    return 0;
}
