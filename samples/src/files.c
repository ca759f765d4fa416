/* File and directory system calls, each step printed with its result. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }
#define CHECK(expr) do { long r_ = (long)(expr); printf("%-40s -> %ld%s%s\n", #expr, r_, r_ < 0 ? " " : "", r_ < 0 ? strerror(errno) : ""); } while (0)

int main(void) {
    char tmpl[] = "guise-files-XXXXXX";
    if (!mkdtemp(tmpl)) { perror("mkdtemp"); return 1; }
    if (chdir(tmpl)) { perror("chdir"); return 1; }
    char cwd[4096];
    size_t cl = getcwd(cwd, sizeof cwd) ? strlen(cwd) : 0, tl = strlen(tmpl);
    printf("getcwd %s\n", cl > tl && cwd[0] == '/' && cwd[cl - tl - 1] == '/' && strcmp(cwd + cl - tl, tmpl) == 0 ? "ok" : "bad");

    int fd = open("a.txt", O_CREAT | O_RDWR | O_TRUNC, 0640);
    CHECK(fd >= 0);
    CHECK(write(fd, "hello file\n", 11));
    CHECK(lseek(fd, 0, SEEK_CUR));
    CHECK(lseek(fd, 6, SEEK_SET));
    char buf[64] = {0};
    CHECK(read(fd, buf, sizeof buf));
    printf("read: %s", buf);
    CHECK(pwrite(fd, "HELLO", 5, 0));
    memset(buf, 0, sizeof buf);
    CHECK(pread(fd, buf, 5, 0));
    printf("pread: %s\n", buf);
    struct iovec iov[2] = {{"vec1 ", 5}, {"vec2\n", 5}};
    CHECK(lseek(fd, 0, SEEK_END));
    CHECK(writev(fd, iov, 2));
    char v1[6] = {0}, v2[6] = {0};
    struct iovec riov[2] = {{v1, 5}, {v2, 5}};
    CHECK(preadv(fd, riov, 2, 11));
    printf("preadv: [%s][%s]\n", v1, v2);
    char w1[5] = {0}, w2[8] = {0};
    struct iovec riov2[2] = {{w1, 4}, {w2, 7}};
    CHECK(lseek(fd, 5, SEEK_SET));
    CHECK(readv(fd, riov2, 2));
    printf("readv: [%s][%s]\n", w1, w2);
    CHECK(lseek(fd, 0, SEEK_CUR));

    struct stat st;
    CHECK(fstat(fd, &st));
    printf("size %lld mode %o nlink %ld\n", (long long)st.st_size, st.st_mode & 07777, (long)st.st_nlink);
    CHECK(ftruncate(fd, 4));
    CHECK(fstat(fd, &st));
    printf("size after ftruncate %lld\n", (long long)st.st_size);

    int fl = fcntl(fd, F_GETFL);
    printf("accmode %d append %d\n", fl & O_ACCMODE, !!(fl & O_APPEND));
    CHECK(fcntl(fd, F_SETFL, fl | O_APPEND));
    printf("append now %d\n", !!(fcntl(fd, F_GETFL) & O_APPEND));
    int d = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    printf("dupfd >= 10: %d cloexec %d\n", d >= 10, fcntl(d, F_GETFD) & FD_CLOEXEC);
    int d2 = dup(fd);
    CHECK(d2 > fd);
    CHECK(lseek(fd, 3, SEEK_SET));
    CHECK(lseek(d2, 0, SEEK_CUR));
    printf("dup cloexec %d\n", fcntl(d2, F_GETFD) & FD_CLOEXEC);
    CHECK(close(d2));
    CHECK(dup2(fd, 20));
    CHECK(lseek(20, 1, SEEK_SET));
    CHECK(lseek(fd, 0, SEEK_CUR));
    CHECK(close(20));
    CHECK(close(d));
    CHECK(close(fd));

    CHECK(truncate("a.txt", 2));
    CHECK(stat("a.txt", &st));
    printf("size after truncate %lld\n", (long long)st.st_size);
    CHECK(chmod("a.txt", 0600));
    CHECK(stat("a.txt", &st));
    printf("mode %o\n", st.st_mode & 07777);
    CHECK(access("a.txt", R_OK | W_OK));
    CHECK(rename("a.txt", "b.txt"));
    CHECK(access("a.txt", F_OK));
    CHECK(symlink("b.txt", "link"));
    char target[64] = {0};
    CHECK(readlink("link", target, sizeof target - 1));
    printf("readlink: %s\n", target);
    CHECK(lstat("link", &st));
    printf("lstat is link: %d\n", S_ISLNK(st.st_mode));
    CHECK(link("b.txt", "hard"));
    CHECK(stat("b.txt", &st));
    printf("nlink %ld\n", (long)st.st_nlink);
    CHECK(mkdir("sub", 0755));
    CHECK(mkdir("sub/deeper", 0700));
    struct timespec ts[2] = {{1000000000, 0}, {1234567890, 500}};
    CHECK(utimensat(AT_FDCWD, "b.txt", ts, 0));
    CHECK(stat("b.txt", &st));
    printf("mtime %lld.%09ld atime %lld\n", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (long long)st.st_atim.tv_sec);
    int dfd = open("sub", O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    int sfd = openat(dfd, "inner", O_CREAT | O_WRONLY, 0644);
    CHECK(sfd >= 0);
    CHECK(close(sfd));
    CHECK(fstatat(dfd, "inner", &st, 0));
    CHECK(unlinkat(dfd, "inner", 0));
    CHECK(unlinkat(dfd, "deeper", AT_REMOVEDIR));
    CHECK(close(dfd));

    DIR *dir = opendir(".");
    char *names[32];
    int n = 0;
    struct dirent *e;
    while (dir && (e = readdir(dir)) && n < 32) names[n++] = strdup(e->d_name);
    if (dir) closedir(dir);
    qsort(names, n, sizeof *names, cmp);
    for (int i = 0; i < n; i++) printf("entry %s\n", names[i]);

    CHECK(unlink("link"));
    CHECK(unlink("hard"));
    CHECK(unlink("b.txt"));
    CHECK(rmdir("sub"));
    CHECK(chdir(".."));
    CHECK(rmdir(tmpl));
    return 0;
}
