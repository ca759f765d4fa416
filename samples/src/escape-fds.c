/* Jail escape corpus: inherited descriptors, chroot nesting and chroot+fchdir,
 * dirfds opened before a chroot, device nodes.
 * usage: escape-fds ATTEMPT OUTSIDE_DIR   (see escape.h) */
#include "escape.h"
#include <sys/ioctl.h>
#include <sys/sysmacros.h>

/* descriptors 3..64 at start: the host's, never the guest's */
static void a_host_fds(int argc, char **argv) {
    char p[64], buf[4096];
    for (int fd = 3; fd <= 64; fd++) {
        int fl = fcntl(fd, F_GETFD);
        if (fl < 0) { note_errno("fcntl", errno); continue; }
        snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
        ssize_t r = readlink(p, buf, sizeof buf - 1);
        buf[r > 0 ? r : 0] = 0;
        escaped("fd %d is open (%s)", fd, buf);
        lseek(fd, 0, SEEK_SET);
        char data[256];
        r = read(fd, data, sizeof data);
        if (r > 0 && shows_host(data, r)) escaped("fd %d reads host data", fd);
    }
    /* the same through /proc: the fd directory lists 0, 1, 2 only */
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        int fd = atoi(de->d_name);
        if (fd > 2 && fd != dirfd(d)) escaped("/proc/self/fd lists %d", fd);
        n++;
    }
    if (d) closedir(d);
    else failed("opendir /proc/self/fd: %s", errname(errno));
    for (int fd = 3; fd <= 64; fd++) {
        snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
        int r = open(p, O_RDONLY);
        if (r >= 0) { check_fd(p, r); escaped("opened %s", p); close(r); }
    }
}

static int make_inner(char *j, size_t n) {
    make_scratch();
    snprintf(j, n, "%s/j", scratch);
    if (mkdir(j, 0755) < 0) { failed("mkdir %s: %s", j, errname(errno)); return -1; }
    return make_file(cat(j, "/inner"), "inner\n");
}

/* a dirfd opened before chroot keeps pointing at the old directory (Linux), but
 * it is still inside the jail: .. from it stops at the jail's root */
static void a_dirfd_chroot(int argc, char **argv) {
    char j[512], buf[4096];
    if (make_inner(j, sizeof j) < 0) return;
    int dfd = open("/", O_RDONLY | O_DIRECTORY);
    int tfd = open("/tmp", O_PATH | O_DIRECTORY);
    if (chroot(j) < 0) { note_errno("chroot", errno); }
    else {
        if (access("/inner", F_OK) < 0) failed("chroot did not take: /inner missing");
        int fd = openat(dfd, "etc/secret", O_RDONLY);   /* still reachable, as on Linux */
        if (fd < 0) failed("openat(old root fd, etc/secret): %s", errname(errno));
        else { check_fd("old root fd etc/secret", fd); close(fd); }
    }
    try_open("openat(old /, ../outside/secret)", dfd, "../outside/secret", O_RDONLY);
    try_open("openat(old /, ../ x10)", dfd, ups(10, "outside/secret"), O_RDONLY);
    try_open("openat(old /tmp, ../ x10)", tfd, ups(10, "outside/secret"), O_RDONLY);
    try_open("openat(old /, ..) listing", dfd, "..", O_RDONLY | O_DIRECTORY);
    try_open("openat(old /, create ../outside/created)", dfd, "../outside/created", O_WRONLY | O_CREAT);
    if (fchdir(dfd) < 0) { failed("fchdir: %s", errname(errno)); return; }
    for (int i = 0; i < 20; i++) chdir("..");
    if (getcwd(buf, sizeof buf) && shows_host(buf, strlen(buf))) escaped("getcwd shows %s", buf);
    try_open("outside/secret after fchdir + cd ..", AT_FDCWD, "outside/secret", O_RDONLY);
    try_open("listing after fchdir + cd ..", AT_FDCWD, ".", O_RDONLY | O_DIRECTORY);
}

/* the classic: chroot into a subdirectory while holding the old cwd, fchdir back
 * out of the new root, climb with .. and chroot(".") at the top */
static void a_chroot_fchdir(int argc, char **argv) {
    char j[512], buf[4096];
    if (make_inner(j, sizeof j) < 0) return;
    if (chdir(scratch) < 0) { failed("chdir: %s", errname(errno)); return; }
    int cwd = open(".", O_RDONLY | O_DIRECTORY);
    if (chroot(j) < 0) note_errno("chroot", errno);
    if (fchdir(cwd) < 0) { failed("fchdir: %s", errname(errno)); return; }
    for (int i = 0; i < 64; i++) chdir("..");
    if (chroot(".") < 0) note_errno("chroot .", errno);
    if (chdir("/") < 0) failed("chdir /: %s", errname(errno));
    if (getcwd(buf, sizeof buf) && shows_host(buf, strlen(buf))) escaped("getcwd shows %s", buf);
    try_open("/ listing", AT_FDCWD, "/", O_RDONLY | O_DIRECTORY);
    try_open("/../outside/secret", AT_FDCWD, "/../outside/secret", O_RDONLY);
    try_open("outside/secret", AT_FDCWD, "outside/secret", O_RDONLY);
    try_open("host absolute", AT_FDCWD, cat(outside, "/secret"), O_RDONLY);
    try_open("create outside", AT_FDCWD, "/../outside/created", O_WRONLY | O_CREAT);
    /* twice more, with the mkdir-chroot-climb loop some escapes use */
    for (int round = 0; round < 2; round++) {
        mkdir("/tmp/again", 0755);
        int fd = open("/", O_RDONLY | O_DIRECTORY);
        chroot("/tmp/again");
        fchdir(fd);
        close(fd);
        for (int i = 0; i < 64; i++) chdir("..");
        chroot(".");
        try_open("after another round", AT_FDCWD, "/../outside/secret", O_RDONLY);
        try_open("after another round, listing", AT_FDCWD, "/..", O_RDONLY | O_DIRECTORY);
    }
}

/* chroot into a subdirectory, chdir / and climb: the inner root must hold */
static void a_chroot_nested(int argc, char **argv) {
    char j[512], buf[4096];
    if (make_inner(j, sizeof j) < 0) return;
    if (chroot(j) < 0) { note_errno("chroot", errno); return; }
    if (chdir("/") < 0) { failed("chdir /: %s", errname(errno)); return; }
    if (access("/inner", F_OK) < 0) failed("/inner missing after chroot");
    for (int i = 0; i < 20; i++) chdir("..");
    if (!getcwd(buf, sizeof buf) || strcmp(buf, "/")) failed("getcwd is %s", buf);
    /* the jail's own files are outside the inner root now */
    try_open("/etc/secret (jail's, outside the inner root)", AT_FDCWD, "/etc/secret", O_RDONLY);
    try_open("../../../etc/secret", AT_FDCWD, "../../../etc/secret", O_RDONLY);
    try_open("/proc/self/root/../../etc/secret", AT_FDCWD, "/proc/self/root/../../etc/secret", O_RDONLY);
    int fd = open("/", O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        DIR *d = fdopendir(fd);
        struct dirent *de;
        while (d && (de = readdir(d)))
            if (!strcmp(de->d_name, "etc") || !strcmp(de->d_name, "bin")) escaped("inner / lists %s", de->d_name);
        if (d) closedir(d);
    }
    check_link("readlink /proc/self/root", "/proc/self/root", buf, sizeof buf);
    if (strcmp(buf, "/")) failed("/proc/self/root is %s inside the inner root", buf);
    /* nest again and climb */
    mkdir("/deeper", 0755);
    if (chroot("/deeper") < 0) note_errno("second chroot", errno);
    chdir("/");
    for (int i = 0; i < 20; i++) chdir("..");
    try_open("/inner from the second root", AT_FDCWD, "/inner", O_RDONLY);
}

static void try_mknod(const char *what, mode_t type, int maj, int min) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", scratch, what);
    if (mknod(p, type | 0600, makedev(maj, min)) < 0) { note_errno(what, errno); return; }
    int fd = open(p, O_RDONLY);
    if (fd >= 0) {
        char buf[512];
        ssize_t r = read(fd, buf, sizeof buf);
        escaped("made and opened device %s (%d,%d), read %zd", what, maj, min, r);
        close(fd);
    } else escaped("made device node %s (%d,%d) (open: %s)", what, maj, min, errname(errno));
    unlink(p);
}

/* device nodes a jail must never let a guest make (and then open) */
static const struct node { const char *name; mode_t type; int maj, min; } blocks[] = {
    {"sda", S_IFBLK, 8, 0}, {"vda", S_IFBLK, 254, 0}, {"vda-252", S_IFBLK, 252, 0},
    {"nvme0n1", S_IFBLK, 259, 0}, {"dm-0", S_IFBLK, 253, 0}, {"loop0", S_IFBLK, 7, 0}, {NULL}},
  chars[] = {
    {"mem", S_IFCHR, 1, 1}, {"kmem", S_IFCHR, 1, 2}, {"port", S_IFCHR, 1, 4}, {"kmsg", S_IFCHR, 1, 11},
    {"tty0", S_IFCHR, 4, 0}, {NULL}};

/* every node of TABLE through mknod, then one more through mknodat */
static void try_nodes(const struct node *table) {
    make_scratch();
    for (const struct node *n = table; n->name; n++) try_mknod(n->name, n->type, n->maj, n->min);
    char p[512];
    snprintf(p, sizeof p, "%s/%s-at", scratch, table->name);
    must_fail("mknodat", mknodat(AT_FDCWD, p, table->type | 0600, makedev(table->maj, table->min + 16)));
}

static void a_mknod_block(int argc, char **argv) { try_nodes(blocks); }

static void a_mknod_char(int argc, char **argv) {
    try_nodes(chars);
    /* a FIFO is no device: allowed, and stays in the jail */
    char p[512];
    snprintf(p, sizeof p, "%s/fifo", scratch);
    if (mknod(p, S_IFIFO | 0600, 0) < 0) failed("mkfifo: %s", errname(errno));
}

/* the host's devices are not in the jail's /dev */
static void a_dev_nodes(int argc, char **argv) {
    const char *devs[] = {"/dev/sda", "/dev/vda", "/dev/nvme0n1", "/dev/xvda", "/dev/mem", "/dev/kmem",
                          "/dev/port", "/dev/kmsg", "/dev/loop0", "/dev/loop-control", "/dev/fuse",
                          "/dev/kvm", "/dev/net/tun", "/dev/console", "/dev/disk/by-uuid", NULL};
    for (int i = 0; devs[i]; i++) must_fail(devs[i], open(devs[i], O_RDONLY | O_NONBLOCK));
    int fd = open("/dev/null", O_RDWR);                   /* the jail's own /dev works */
    if (fd < 0) failed("/dev/null: %s", errname(errno));
    else close(fd);
}

/* TIOCSTI: push characters into the input of the terminal the jail runs on, for
 * the host's shell to read once the guest is gone (bubblewrap's CVE-2017-5226) */
static void a_tiocsti(int argc, char **argv) {
    const char *text = "GUISE_TIOCSTI_MARK";
    int fds[3] = {0, -1, -1};
    fds[1] = open("/dev/tty", O_RDWR | O_NONBLOCK);
    if (fds[1] < 0) note_errno("open /dev/tty", errno);
    fds[2] = 2;
    for (int i = 0; i < 3; i++) {
        if (fds[i] < 0) continue;
        int pushed = 0;
        for (const char *c = text; *c; c++) {
            if (ioctl(fds[i], 0x5412 /* TIOCSTI */, c) == 0) pushed++;
            else { note_errno("TIOCSTI", errno); break; }
        }
        if (pushed) escaped("TIOCSTI pushed %d characters into fd %d's terminal", pushed, fds[i]);
    }
}

static const struct entry table[] = {
    {"host-fds", a_host_fds}, {"dirfd-chroot", a_dirfd_chroot}, {"chroot-fchdir", a_chroot_fchdir},
    {"chroot-nested", a_chroot_nested}, {"mknod-block", a_mknod_block}, {"mknod-char", a_mknod_char},
    {"dev-nodes", a_dev_nodes}, {"tiocsti", a_tiocsti}, {NULL, NULL}};

int main(int argc, char **argv) { return dispatch(table, argc, argv); }
