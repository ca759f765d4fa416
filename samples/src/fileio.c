/* Write 20 MB in 4 KiB blocks to argv[1], read it back, print a checksum, remove it. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "guise-fileio.dat";
    static unsigned char buf[4096];
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0) { perror("open"); return 1; }
    for (int b = 0; b < 5120; b++) {
        for (int i = 0; i < 4096; i += 64) buf[i] = (unsigned char)(b + i);
        if (write(fd, buf, sizeof buf) != sizeof buf) { perror("write"); return 1; }
    }
    close(fd);
    fd = open(path, O_RDONLY);
    uint32_t sum = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i += 64) sum = sum * 33 + buf[i];
    close(fd);
    unlink(path);
    printf("checksum %u\n", sum);
    return 0;
}
