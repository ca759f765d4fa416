/* Shared helpers of the jail escape corpus (samples/src/escape-*.c).
 *
 * Each program takes the attempt's name as argv[1], the host path of the
 * sentinel "outside" directory as argv[2] (the guest should never reach it),
 * and attempt-specific arguments after that.  It prints ONE line on stdout:
 *   BLOCKED <name> <errno,errno,...|->   every sub-attempt was refused or contained
 *   ESCAPED <name> <what>                 something outside was read, written or seen
 *   FAILED  <name> <what>                 neither: the attempt could not be set up
 * and exits 0, 1 or 2 respectively.  Each sub-attempt is described on stderr.
 *
 * Outside files hold the text SENTINEL; the directory next to the jail root also
 * holds an entry named MARK, so a listing that shows MARK saw the host.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define SENTINEL "GUISE-OUTSIDE-SENTINEL"
#define MARK "GUISE_OUTSIDE_MARK"

static const char *attempt = "?";
static const char *outside = "/nonexistent-outside";   /* host path of the outside dir */
static char hostbase[4096] = "/nonexistent-base";        /* its parent: holds the jail root too */
static char escaped_what[512];
static char failed_what[512];
static char errs[512];

static const char *errname(int e) {
    switch (e) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC) E(EBADF)
    E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY) E(EEXIST) E(EXDEV)
    E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOTTY) E(ETXTBSY)
    E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK) E(EPIPE) E(ERANGE) E(ENAMETOOLONG)
    E(ENOSYS) E(ENOTEMPTY) E(ELOOP) E(ENODATA) E(ENOTSOCK) E(EAFNOSUPPORT)
    E(EADDRINUSE) E(EADDRNOTAVAIL) E(ECONNREFUSED) E(EOPNOTSUPP) E(EPROTONOSUPPORT)
    E(ESTALE) E(EDQUOT) E(ECONNRESET) E(ENOTCONN)
#undef E
    case 0: return "OK";
    }
    static char buf[32];
    snprintf(buf, sizeof buf, "E%d", e);
    return buf;
}

/* note that a sub-attempt failed with errno e (kept once, in order) */
static void note_errno(const char *what, int e) {
    const char *n = errname(e);
    fprintf(stderr, "  %s: %s\n", what, n);
    char pat[64];
    snprintf(pat, sizeof pat, ",%s,", n);
    char cur[520];
    snprintf(cur, sizeof cur, ",%s,", errs);
    if (strstr(cur, pat)) return;
    if (errs[0]) strncat(errs, ",", sizeof errs - strlen(errs) - 1);
    strncat(errs, n, sizeof errs - strlen(errs) - 1);
}

/* the first report of a kind is kept for the verdict line; each one goes to stderr */
static void report(char *slot, size_t n, const char *tag, int show, const char *fmt, va_list ap) {
    char buf[256];
    vsnprintf(buf, sizeof buf, fmt, ap);
    if (show) fprintf(stderr, "  %s: %s\n", tag, buf);
    if (!slot[0]) snprintf(slot, n, "%s", buf);
}

static void escaped(const char *fmt, ...) {
    static int shown;
    va_list ap;
    va_start(ap, fmt);
    report(escaped_what, sizeof escaped_what, "ESCAPE", shown++ < 8, fmt, ap);
    va_end(ap);
}

static void failed(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    report(failed_what, sizeof failed_what, "FAILED", 1, fmt, ap);
    va_end(ap);
}

static void contained(const char *what) { fprintf(stderr, "  %s: contained\n", what); }

static int finish(void) {
    if (escaped_what[0]) { printf("ESCAPED %s %s\n", attempt, escaped_what); return 1; }
    if (failed_what[0]) { printf("FAILED %s %s\n", attempt, failed_what); return 2; }
    printf("BLOCKED %s %s\n", attempt, errs[0] ? errs : "-");
    return 0;
}

/* does this text show the host: the sentinel, the mark or the outside dir's path? */
static int shows_host(const char *buf, size_t n) {
    if (memmem(buf, n, SENTINEL, strlen(SENTINEL))) return 1;
    if (memmem(buf, n, MARK, strlen(MARK))) return 1;
    if (memmem(buf, n, outside, strlen(outside))) return 1;
    if (memmem(buf, n, hostbase, strlen(hostbase))) return 1;
    return 0;
}

/* read an fd to the end (at most 1 MiB); escaped() if it shows the host */
static void check_fd(const char *what, int fd) {
    static char buf[1 << 16];
    size_t total = 0;
    ssize_t r;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        int d = dup(fd);
        DIR *dir = fdopendir(d);
        struct dirent *de;
        if (dir) {
            while ((de = readdir(dir)))
                if (shows_host(de->d_name, strlen(de->d_name))) escaped("%s lists %s", what, de->d_name);
            closedir(dir);
        }
        return;
    }
    while (total < (1 << 20) && (r = read(fd, buf, sizeof buf)) > 0) {
        if (shows_host(buf, r)) { escaped("%s read host data", what); return; }
        total += r;
    }
    contained(what);
}

/* openat(dirfd, path, flags); the read must not show the host */
static void try_open(const char *what, int dirfd, const char *path, int flags) {
    int fd = openat(dirfd, path, flags | O_CLOEXEC, 0644);
    if (fd < 0) { note_errno(what, errno); return; }
    if ((flags & O_ACCMODE) != O_WRONLY) check_fd(what, fd);
    else contained(what);
    close(fd);
}

/* a call that must fail: ret >= 0 is an escape */
static void must_fail(const char *what, long ret) {
    if (ret >= 0) escaped("%s succeeded", what);
    else note_errno(what, errno);
}

/* a file holding TEXT; 0, or -1 after reporting FAILED */
static int make_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    if (fd < 0) { failed("create %s: %s", path, errname(errno)); return -1; }
    (void)!write(fd, text, strlen(text));
    close(fd);
    return 0;
}

/* path join into a static ring of buffers */
static char *cat(const char *a, const char *b) {
    static char ring[8][8192];
    static int i;
    char *p = ring[i++ & 7];
    snprintf(p, 8192, "%s%s", a, b);
    return p;
}

/* "../" repeated n times, then tail */
static char *ups(int n, const char *tail) {
    static char ring[4][8192];
    static int i;
    char *p = ring[i++ & 3];
    p[0] = 0;
    for (int k = 0; k < n && strlen(p) < 7000; k++) strcat(p, "../");
    strncat(p, tail, 8192 - strlen(p) - 1);
    return p;
}

/* readlink into buf; the text must not show a host path */
static int check_link(const char *what, const char *path, char *buf, size_t n) {
    ssize_t r = readlink(path, buf, n - 1);
    if (r < 0) { note_errno(what, errno); buf[0] = 0; return -1; }
    buf[r] = 0;
    fprintf(stderr, "  %s -> %s\n", what, buf);
    if (shows_host(buf, r)) escaped("%s shows host path %s", what, buf);
    return 0;
}

/* the jail's own scratch directory for this attempt: /tmp/<attempt> */
static char scratch[256];
static void make_scratch(void) {
    snprintf(scratch, sizeof scratch, "/tmp/%s.%d", attempt, (int)getpid());
    mkdir("/tmp", 01777);
    if (mkdir(scratch, 0755) < 0 && errno != EEXIST) failed("mkdir %s: %s", scratch, errname(errno));
}

typedef void (*attempt_fn)(int argc, char **argv);
struct entry { const char *name; attempt_fn fn; };

static int dispatch(const struct entry *table, int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2) {
        for (const struct entry *e = table; e->name; e++) printf("%s\n", e->name);
        return 0;
    }
    attempt = argv[1];
    if (argc > 2) {
        outside = argv[2];
        snprintf(hostbase, sizeof hostbase, "%s", outside);
        char *slash = strrchr(hostbase, '/');
        if (slash && slash != hostbase) *slash = 0;
    }
    for (const struct entry *e = table; e->name; e++)
        if (!strcmp(e->name, argv[1])) {
            fprintf(stderr, "%s:\n", attempt);
            e->fn(argc, argv);
            return finish();
        }
    printf("FAILED %s unknown attempt\n", argv[1]);
    return 2;
}
