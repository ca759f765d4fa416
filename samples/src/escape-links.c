/* Jail escape corpus: hard links, rename/link/symlink/mkdir targets outside, and
 * writes to the overlay's lower tree.
 * usage: escape-links ATTEMPT OUTSIDE_DIR [LOWER_DIR]   (see escape.h)
 * LOWER_DIR is a guest path of a lower-tree directory holding the files file,
 * file2, file3, hl-src, mm (4 KiB), emptydir/, sub/f; the test checks on the
 * host that none of them changed. */
#include "escape.h"
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

static void a_hardlink_outside(int argc, char **argv) {
    char l[512];
    make_scratch();
    const char *srcs[] = {cat(outside, "/secret"), "/../outside/secret", ups(30, "outside/secret"),
                          "/proc/self/root/../outside/secret", NULL};
    for (int i = 0; srcs[i]; i++) {
        snprintf(l, sizeof l, "%s/h%d", scratch, i);
        must_fail(srcs[i], link(srcs[i], l));
        must_fail(srcs[i], linkat(AT_FDCWD, srcs[i], AT_FDCWD, l, AT_SYMLINK_FOLLOW));
    }
    /* a symlink to the outside file, hard-linked with AT_SYMLINK_FOLLOW */
    snprintf(l, sizeof l, "%s/sym", scratch);
    symlink(cat(outside, "/secret"), l);
    must_fail("linkat(symlink to outside, FOLLOW)", linkat(AT_FDCWD, l, AT_FDCWD, cat(scratch, "/h9"), AT_SYMLINK_FOLLOW));
    /* the other direction: hard links made outside, of inside files */
    must_fail("link /etc/secret -> host path", link("/etc/secret", cat(outside, "/hl")));
    must_fail("link /etc/secret -> ../outside", link("/etc/secret", ups(30, "outside/hl")));
    /* a hard link of an inside file, then writes through it: the link stays in the jail */
    snprintf(l, sizeof l, "%s/own", scratch);
    if (link("/etc/secret", l) < 0) note_errno("link /etc/secret", errno);
    else {
        int fd = open(l, O_WRONLY | O_APPEND);
        if (fd >= 0) { (void)!write(fd, "more\n", 5); close(fd); }
        contained("write through an inside hard link");
    }
}

static void a_rename_outside(int argc, char **argv) {
    make_scratch();
    char f[512];
    snprintf(f, sizeof f, "%s/f", scratch);
    if (make_file(f, "") < 0) return;
    must_fail("rename -> host path", rename(f, cat(outside, "/moved")));
    must_fail("rename -> ../ x30", rename(f, ups(30, "outside/moved")));
    must_fail("rename -> /proc/self/root/..", rename(f, "/proc/self/root/../outside/moved"));
    must_fail("rename host path -> inside", rename(cat(outside, "/secret"), cat(scratch, "/got")));
    must_fail("rename ../outside/secret -> inside", rename("/../outside/secret", cat(scratch, "/got")));
    must_fail("rename scratch dir -> outside", rename(scratch, cat(outside, "/moveddir")));
    must_fail("rename /etc -> outside", rename("/etc", ups(30, "outside/etc")));
#ifdef SYS_renameat2
    must_fail("renameat2 EXCHANGE with host path",
              syscall(SYS_renameat2, AT_FDCWD, f, AT_FDCWD, cat(outside, "/secret"), 2 /* RENAME_EXCHANGE */));
    must_fail("renameat2 EXCHANGE with ../outside",
              syscall(SYS_renameat2, AT_FDCWD, f, AT_FDCWD, "/../outside/secret", 2));
#endif
    int dfd = open("/", O_PATH | O_DIRECTORY);
    must_fail("renameat(/ fd, ../outside/moved)", renameat(AT_FDCWD, f, dfd, "../outside/moved"));
}

/* new names created at outside places: symlink, mkdir, mkfifo, link */
static void a_create_outside(int argc, char **argv) {
    const char *dirs[] = {outside, "/../outside", ups(30, "outside"), "/proc/self/root/../outside",
                          "/proc/self/cwd/../../outside", NULL};
    chdir("/tmp");
    for (int i = 0; dirs[i]; i++) {
        must_fail("symlink", symlink("/etc/secret", cat(dirs[i], "/newlink")));
        must_fail("mkdir", mkdir(cat(dirs[i], "/newdir"), 0755));
        must_fail("mkfifo", mknod(cat(dirs[i], "/newfifo"), S_IFIFO | 0600, 0));
        must_fail("link", link("/etc/secret", cat(dirs[i], "/newhl")));
        must_fail("creat", open(cat(dirs[i], "/newfile"), O_WRONLY | O_CREAT | O_EXCL, 0644));
        must_fail("unlink", unlink(cat(dirs[i], "/secret")));
        must_fail("rmdir", rmdir(cat(dirs[i], "/dir")));
        must_fail("setxattr", setxattr(cat(dirs[i], "/secret"), "user.x", "1", 1, 0));
    }
}

static char *in_lower(const char *dir, const char *name) { return cat(cat(dir, "/"), name); }

static void expect_ok(const char *what, long r) {
    if (r < 0) failed("%s: %s", what, errname(errno));
    else contained(what);
}

/* every kind of write to lower-tree files: each must work (in the overlay) and
 * show in the guest's view, and the host's lower tree must not change */
static void a_lower_write(int argc, char **argv) {
    const char *d = argc > 3 ? argv[3] : "/data";
    char buf[64] = {0};
    int fd = open(in_lower(d, "file"), O_WRONLY | O_TRUNC);
    if (fd < 0) { failed("open file for writing: %s", errname(errno)); return; }
    expect_ok("write", write(fd, "changed\n", 8));
    close(fd);
    fd = open(in_lower(d, "file"), O_RDONLY);
    if (fd < 0 || read(fd, buf, sizeof buf - 1) != 8 || strcmp(buf, "changed\n")) failed("the guest does not see its write");
    if (fd >= 0) close(fd);
    fd = open(in_lower(d, "file2"), O_WRONLY | O_APPEND);
    expect_ok("append", fd < 0 ? -1 : write(fd, "appended\n", 9));
    if (fd >= 0) close(fd);
    expect_ok("chmod", chmod(in_lower(d, "file2"), 0600));
    expect_ok("utimensat", utimensat(AT_FDCWD, in_lower(d, "file2"), NULL, 0));
    expect_ok("truncate", truncate(in_lower(d, "file3"), 1));
    expect_ok("rename", rename(in_lower(d, "file3"), in_lower(d, "renamed")));
    expect_ok("unlink", unlink(in_lower(d, "renamed")));
    expect_ok("mkdir", mkdir(in_lower(d, "newdir"), 0755));
    expect_ok("rmdir", rmdir(in_lower(d, "emptydir")));
    expect_ok("symlink", symlink("file", in_lower(d, "newlink")));
    /* a lower directory: EXDEV, as Linux overlayfs without redirect_dir says, or moved */
    const char *sub = "sub2/f";
    if (rename(in_lower(d, "sub"), in_lower(d, "sub2")) < 0) {
        if (errno != EXDEV) failed("rename dir: %s", errname(errno));
        note_errno("rename dir", errno);
        sub = "sub/f";
    } else contained("rename dir");
    fd = open(in_lower(d, sub), O_WRONLY | O_TRUNC);
    expect_ok("write in renamed dir", fd < 0 ? -1 : write(fd, "x", 1));
    if (fd >= 0) close(fd);
    /* a hard link of a lower file, written through the link */
    mkdir("/tmp", 01777);
    char l[512];
    snprintf(l, sizeof l, "/tmp/hl.%d", (int)getpid());
    if (link(in_lower(d, "hl-src"), l) == 0) {
        fd = open(l, O_WRONLY | O_TRUNC);
        expect_ok("write through a hard link", fd < 0 ? -1 : write(fd, "via link\n", 9));
        if (fd >= 0) close(fd);
    } else note_errno("link lower file", errno);
    /* a shared writable mapping of a lower file */
    fd = open(in_lower(d, "mm"), O_RDWR);
    if (fd < 0) failed("open mm O_RDWR: %s", errname(errno));
    else {
        char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED) failed("mmap shared: %s", errname(errno));
        else {
            memset(m, 'M', 4096);
            expect_ok("msync", msync(m, 4096, MS_SYNC));
            munmap(m, 4096);
        }
        expect_ok("fallocate/ftruncate", ftruncate(fd, 8192));
        close(fd);
    }
    /* O_CREAT over an existing lower file, O_TMPFILE in a lower dir */
    fd = open(in_lower(d, "file"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    expect_ok("O_CREAT|O_TRUNC existing", fd);
    if (fd >= 0) close(fd);
    if (setxattr(in_lower(d, "file2"), "user.k", "v", 1, 0) < 0) fprintf(stderr, "  setxattr: %s\n", errname(errno));
}

/* changes through descriptors opened read-only, and reopening them for writing */
static void a_lower_fd_write(int argc, char **argv) {
    const char *d = argc > 3 ? argv[3] : "/data";
    char p[64];
    int fd = open(in_lower(d, "file"), O_RDONLY);
    if (fd < 0) { failed("open: %s", errname(errno)); return; }
    must_fail("write on O_RDONLY", write(fd, "x", 1));
    must_fail("ftruncate on O_RDONLY", ftruncate(fd, 0));
    if (fchmod(fd, 0600) < 0) note_errno("fchmod", errno);
    if (futimens(fd, NULL) < 0) note_errno("futimens", errno);
    if (fsetxattr(fd, "user.k", "v", 1, 0) < 0) fprintf(stderr, "  fsetxattr: %s\n", errname(errno));
    void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m != MAP_FAILED) escaped("shared writable mapping of an O_RDONLY descriptor");
    else note_errno("mmap shared writable of O_RDONLY", errno);
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    int w = open(p, O_WRONLY | O_TRUNC);
    if (w < 0) note_errno("reopen /proc/self/fd for writing", errno);
    else { (void)!write(w, "reopened\n", 9); close(w); contained("reopen for writing"); }
    int dfd = open(d, O_RDONLY | O_DIRECTORY);
    w = openat(dfd, "file2", O_WRONLY | O_TRUNC);
    if (w >= 0) { (void)!write(w, "y", 1); close(w); }
    must_fail("unlinkat(dirfd, emptydir) without AT_REMOVEDIR", unlinkat(dfd, "emptydir", 0));
    if (unlinkat(dfd, "emptydir", AT_REMOVEDIR) < 0) failed("rmdir via dirfd: %s", errname(errno));
    if (fchmod(dfd, 0700) < 0) note_errno("fchmod dir", errno);
    int mfd = open(in_lower(d, "mm"), O_RDONLY);
    char *pm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, mfd, 0);
    if (pm != MAP_FAILED) { memset(pm, 'P', 4096); msync(pm, 4096, MS_SYNC); munmap(pm, 4096); }
}

/* a shared read-only mapping of an O_RDONLY descriptor of a lower file, then
 * mprotect to writable: EACCES on Linux (the mapping may never be written) */
static void a_mprotect_shared(int argc, char **argv) {
    const char *d = argc > 3 ? argv[3] : "/data";
    int mfd = open(in_lower(d, "mm"), O_RDONLY);
    if (mfd < 0) { failed("open mm: %s", errname(errno)); return; }
    char *sm = mmap(NULL, 4096, PROT_READ, MAP_SHARED, mfd, 0);
    if (sm == MAP_FAILED) failed("mmap shared read-only: %s", errname(errno));
    else {
        if (mprotect(sm, 4096, PROT_READ | PROT_WRITE) == 0) {
            escaped("mprotect made a shared mapping of an O_RDONLY descriptor writable");
            memset(sm, 'S', 4096);
            msync(sm, 4096, MS_SYNC);
        } else note_errno("mprotect shared O_RDONLY mapping writable", errno);
        munmap(sm, 4096);
    }
}

/* names that are the overlay's own markers (.wh.NAME hides NAME below, .wh..wh..opq
 * makes a directory opaque): no way of making one may work, or a guest could
 * forge them in the upper layer */
static void a_overlay_markers(int argc, char **argv) {
    make_scratch();
    char f[512];
    snprintf(f, sizeof f, "%s/f", scratch);
    if (make_file(f, "") < 0) return;
    mkdir(cat(scratch, "/d"), 0755);
    must_fail("rename to .wh.secret", rename(f, "/etc/.wh.secret"));
    must_fail("rename to .wh..wh..opq", rename(f, "/etc/.wh..wh..opq"));
    must_fail("rename dir to .wh.d", rename(cat(scratch, "/d"), "/etc/.wh.d"));
    must_fail("create .wh.x", open("/etc/.wh.x", O_WRONLY | O_CREAT, 0644));
    must_fail("mkdir .wh.x", mkdir("/etc/.wh.x", 0755));
    must_fail("symlink .wh.x", symlink("secret", "/etc/.wh.x"));
    must_fail("link .wh.x", link(f, "/etc/.wh.x"));
    must_fail("mkfifo .wh.x", mknod("/etc/.wh.x", S_IFIFO | 0600, 0));
    must_fail("create copy-up temp name", open("/etc/.wh..wh.copyup.secret", O_WRONLY | O_CREAT, 0644));
    int fd = open("/etc/secret", O_RDONLY);
    char buf[16] = {0};
    if (fd < 0 || read(fd, buf, sizeof buf - 1) < 6 || strcmp(buf, "inside\n")) failed("/etc/secret is gone or changed");
    if (fd >= 0) close(fd);
}

static const struct entry table[] = {
    {"hardlink-outside", a_hardlink_outside}, {"rename-outside", a_rename_outside},
    {"create-outside", a_create_outside}, {"lower-write", a_lower_write},
    {"lower-fd-write", a_lower_fd_write}, {"overlay-markers", a_overlay_markers},
    {"mprotect-shared", a_mprotect_shared}, {NULL, NULL}};

int main(int argc, char **argv) { return dispatch(table, argc, argv); }
