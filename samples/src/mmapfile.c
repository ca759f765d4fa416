/* File mappings: private read-only, with an offset, and shared writable written back. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
    const char *path = "guise-mmap.dat";
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    unsigned char page[4096];
    for (int p = 0; p < 3; p++) {
        for (int i = 0; i < 4096; i++) page[i] = (unsigned char)(p * 50 + i % 50);
        write(fd, page, sizeof page);
    }
    unsigned char *m = mmap(NULL, 3 * 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    printf("private: %d %d %d\n", m[10], m[4096 + 10], m[2 * 4096 + 49]);
    unsigned char *o = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
    printf("offset: %d\n", o[10]);
    munmap(o, 4096);
    unsigned char *s = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    s[100] = 222;
    printf("msync %d\n", msync(s, 3 * 4096, MS_SYNC));
    munmap(s, 3 * 4096);
    unsigned char c = 0;
    pread(fd, &c, 1, 100);
    printf("file byte after shared write: %d\n", c);
    unsigned char *past = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 2 * 4096);
    printf("partial page tail zero: %d\n", past[4095]);
    munmap(m, 3 * 4096);
    close(fd);
    unlink(path);
    return 0;
}
