/* Deliberate failures: each must give the errno Linux gives. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FAIL(expr) do { errno = 0; long r_ = (long)(expr); printf("%-45s = %ld errno %d (%s)\n", #expr, r_, errno, strerror(errno)); } while (0)

int main(int argc, char **argv) {
    (void)argc;
    FAIL(open("/nonexistent/file", O_RDONLY));
    FAIL(read(987, NULL, 1));
    FAIL(mkdir("/", 0755));
    FAIL(rmdir("/etc"));
    int fd = open(argv[0], O_RDONLY);
    FAIL(write(fd, "x", 1));
    FAIL(read(fd, (void *)1, 16));
    FAIL(unlink("/etc"));
    FAIL(chdir(argv[0]));
    FAIL(syscall(99999));
    FAIL(lseek(fd, -5, SEEK_SET));
    FAIL(open(argv[0], O_RDONLY | O_DIRECTORY));
    FAIL(access("/etc/hostname/x", F_OK));
    FAIL(readlink("/etc/hostname", (char *)1, 10));
    FAIL(stat((char *)16, (struct stat *)0));
    FAIL(close(-1));
    FAIL(dup2(fd, -1));
    close(fd);
    return 0;
}
