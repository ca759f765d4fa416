/* Jail escape corpus: /proc magic links and what /proc shows.
 * usage: escape-proc ATTEMPT OUTSIDE_DIR [HOST_PID]   (see escape.h) */
#include "escape.h"
#include <sys/auxv.h>
#include <sys/vfs.h>

/* open PATH (never blocking) and, if it is a file or directory, check that what it
 * shows is the jail's; -1 (errno set) if it does not open */
static int inspect(const char *what, const char *path) {
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) check_fd(what, fd);
    close(fd);
    return 0;
}

static void a_proc_self_root(int argc, char **argv) {
    char buf[4096];
    check_link("readlink /proc/self/root", "/proc/self/root", buf, sizeof buf);
    if (strcmp(buf, "/")) failed("/proc/self/root is %s, not /", buf);
    try_open("/proc/self/root/../outside/secret", AT_FDCWD, "/proc/self/root/../outside/secret", O_RDONLY);
    try_open("/proc/self/root/<host path>", AT_FDCWD, cat("/proc/self/root", cat(outside, "/secret")), O_RDONLY);
    try_open("/proc/self/root/.. listing", AT_FDCWD, "/proc/self/root/..", O_RDONLY | O_DIRECTORY);
    try_open("/proc/self/root/../../.. listing", AT_FDCWD, "/proc/self/root/../../..", O_RDONLY | O_DIRECTORY);
    try_open("/proc/thread-self/root/..", AT_FDCWD, "/proc/thread-self/root/../outside/secret", O_RDONLY);
    try_open("create /proc/self/root/../outside/created", AT_FDCWD, "/proc/self/root/../outside/created",
             O_WRONLY | O_CREAT);
    int dfd = open("/proc/self/root", O_RDONLY | O_DIRECTORY);
    if (dfd < 0) failed("open /proc/self/root: %s", errname(errno));
    else {
        try_open("openat(/proc/self/root fd, ../outside/secret)", dfd, "../outside/secret", O_RDONLY);
        check_fd("/proc/self/root fd listing", dfd);
        close(dfd);
    }
}

static void a_proc_self_cwd(int argc, char **argv) {
    char buf[4096];
    if (chdir("/tmp") < 0) { failed("chdir: %s", errname(errno)); return; }
    check_link("readlink /proc/self/cwd", "/proc/self/cwd", buf, sizeof buf);
    if (strcmp(buf, "/tmp")) failed("/proc/self/cwd is %s, not /tmp", buf);
    try_open("/proc/self/cwd/../../outside/secret", AT_FDCWD, "/proc/self/cwd/../../outside/secret", O_RDONLY);
    try_open("/proc/self/cwd/../.. listing", AT_FDCWD, "/proc/self/cwd/../..", O_RDONLY | O_DIRECTORY);
    try_open("/proc/self/cwd/ ../ x20", AT_FDCWD, cat("/proc/self/cwd/", ups(20, "outside/secret")), O_RDONLY);
    try_open("create via /proc/self/cwd", AT_FDCWD, cat("/proc/self/cwd/", ups(20, "outside/created")),
             O_WRONLY | O_CREAT);
    if (chdir("/proc/self/cwd/../..") == 0) {
        if (!getcwd(buf, sizeof buf) || strcmp(buf, "/")) failed("getcwd after chdir /proc/self/cwd/../..: %s", buf);
        try_open("outside/secret", AT_FDCWD, "outside/secret", O_RDONLY);
    } else note_errno("chdir /proc/self/cwd/../..", errno);
}

static void a_proc_fd_links(int argc, char **argv) {
    char buf[4096], p[256];
    int ffd = open("/etc/secret", O_RDONLY);
    int dfd = open("/", O_RDONLY | O_DIRECTORY);
    int tfd = open("/tmp", O_PATH | O_DIRECTORY);
    if (ffd < 0 || dfd < 0 || tfd < 0) { failed("open: %s", errname(errno)); return; }
    snprintf(p, sizeof p, "/proc/self/fd/%d", ffd);
    check_link("readlink fd of /etc/secret", p, buf, sizeof buf);
    if (strcmp(buf, "/etc/secret")) failed("fd link is %s", buf);
    int fds[] = {dfd, tfd};
    const char *procs[] = {"/proc/self/fd/%d", "/proc/%d/fd/%d", "/proc/thread-self/fd/%d"};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) {
            char base[256];
            if (j == 1) snprintf(base, sizeof base, procs[j], (int)getpid(), fds[i]);
            else snprintf(base, sizeof base, procs[j], fds[i]);
            check_link(base, base, buf, sizeof buf);
            try_open(base, AT_FDCWD, cat(base, "/../outside/secret"), O_RDONLY);
            try_open(base, AT_FDCWD, cat(base, "/../../../outside/secret"), O_RDONLY);
            try_open(base, AT_FDCWD, cat(base, "/.."), O_RDONLY | O_DIRECTORY);
            try_open(base, AT_FDCWD, cat(base, "/../../.."), O_RDONLY | O_DIRECTORY);
            try_open(base, AT_FDCWD, cat(base, "/../outside/created"), O_WRONLY | O_CREAT);
        }
    /* the file's own link reopens the file (inside) and is no directory */
    int r = open(p, O_RDONLY);
    if (r < 0) failed("reopen %s: %s", p, errname(errno));
    else { check_fd("reopen fd link", r); close(r); }
    /* the fd directory listing names only the guest's fds */
    try_open("/proc/self/fd listing", AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY);
}

/* other processes' /proc entries: pid 1, 2, the parent (the emulator's side) and
 * the host pid given; none of them is a process of this jail, so /proc must not
 * show them at all */
static void must_not_open(const char *path, int flags) {
    int fd = open(path, flags | O_CLOEXEC);
    if (fd >= 0) { escaped("opened %s", path); close(fd); }
    else note_errno(path, errno);
}

/* a link text a guest may see: not a host path.  Absolute texts must name
 * something in the jail or say "(unreachable)" */
static void check_link_text(const char *what, const char *text) {
    struct stat st;
    if (shows_host(text, strlen(text))) escaped("%s -> %s", what, text);
    else if (text[0] == '/' && strncmp(text, "/(unreachable)", 14) && lstat(text, &st) < 0)
        escaped("%s -> %s, a path that is not in the jail", what, text);
    else contained(what);
}

static void a_proc_pids(int argc, char **argv) {
    char buf[4096], base[64];
    int pids[] = {1, 2, argc > 3 ? atoi(argv[3]) : 1};
    const char *links[] = {"root", "cwd", "exe", "fd/0", "fd/3", "task/%d/cwd", NULL};
    for (int i = 0; i < 3; i++) {
        if (pids[i] == (int)getpid() || pids[i] == (int)getppid()) { failed("pid %d is in the jail", pids[i]); continue; }
        for (int j = 0; links[j]; j++) {
            char l[64];
            snprintf(l, sizeof l, links[j], pids[i]);
            snprintf(base, sizeof base, "/proc/%d/%s", pids[i], l);
            ssize_t r = readlink(base, buf, sizeof buf - 1);
            if (r >= 0) { buf[r] = 0; escaped("readlink %s -> %s", base, buf); }
            else note_errno(base, errno);
        }
        snprintf(base, sizeof base, "/proc/%d/root", pids[i]);
        must_not_open(cat(base, cat(outside, "/secret")), O_RDONLY);
        must_not_open(cat(base, "/../outside/secret"), O_RDONLY);
        must_not_open(base, O_RDONLY | O_DIRECTORY);
        snprintf(base, sizeof base, "/proc/%d/cwd", pids[i]);
        must_not_open(base, O_RDONLY | O_DIRECTORY);
        snprintf(base, sizeof base, "/proc/%d/fd", pids[i]);
        must_not_open(base, O_RDONLY | O_DIRECTORY);
        snprintf(base, sizeof base, "/proc/%d/status", pids[i]);
        must_not_open(base, O_RDONLY);
        snprintf(base, sizeof base, "/proc/%d/mem", pids[i]);
        must_not_open(base, O_RDONLY);
    }
    /* the listing of /proc shows none of them */
    DIR *dir = opendir("/proc");
    struct dirent *de;
    while (dir && (de = readdir(dir)))
        for (int i = 0; i < 3; i++)
            if (atoi(de->d_name) == pids[i]) escaped("/proc lists host pid %d", pids[i]);
    if (dir) closedir(dir);
    /* the parent (the jail's supervisor, like a PID namespace's init) may show,
     * but its links name no host path and lead nowhere outside */
    int pp = getppid();
    for (int j = 0; links[j]; j++) {
        char l[64];
        snprintf(l, sizeof l, links[j], pp);
        snprintf(base, sizeof base, "/proc/%d/%s", pp, l);
        ssize_t r = readlink(base, buf, sizeof buf - 1);
        if (r < 0) { note_errno(base, errno); continue; }
        buf[r] = 0;
        check_link_text(base, buf);
    }
    snprintf(base, sizeof base, "/proc/%d/fd", pp);
    int d = open(base, O_RDONLY | O_DIRECTORY);
    if (d >= 0) {
        DIR *fdd = fdopendir(d);
        while (fdd && (de = readdir(fdd))) {
            if (de->d_name[0] == '.') continue;
            char p[128];
            snprintf(p, sizeof p, "%s/%s", base, de->d_name);
            ssize_t r = readlink(p, buf, sizeof buf - 1);
            if (r < 0) continue;
            buf[r] = 0;
            check_link_text(p, buf);
            inspect(p, p);
        }
        if (fdd) closedir(fdd);
    }
    snprintf(base, sizeof base, "/proc/%d/root", pp);
    try_open(base, AT_FDCWD, cat(base, "/../outside/secret"), O_RDONLY);
    try_open(base, AT_FDCWD, cat(base, cat(outside, "/secret")), O_RDONLY);
    snprintf(base, sizeof base, "/proc/%d/cwd", pp);
    try_open(base, AT_FDCWD, cat(base, "/../outside/secret"), O_RDONLY);
    snprintf(base, sizeof base, "/proc/%d/environ", pp);
    try_open(base, AT_FDCWD, base, O_RDONLY);
    snprintf(base, sizeof base, "/proc/%d/cmdline", pp);
    try_open(base, AT_FDCWD, base, O_RDONLY);
}

static void check_text_file(const char *path, int must_exist) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) { if (must_exist) failed("open %s: %s", path, errname(errno)); else note_errno(path, errno); return; }
    static char buf[1 << 20];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - n)) > 0) n += r;
    close(fd);
    buf[n] = 0;
    if (shows_host(buf, n)) escaped("%s shows a host path", path);
    else if (strstr(buf, "/tmp/guise-") || strstr(buf, "/var/tmp/guise") || strstr(buf, "pytest-of-"))
        escaped("%s shows the emulator's host paths", path);
    else contained(path);
    if (must_exist && n == 0) failed("%s is empty", path);
}

static void a_proc_mountinfo(int argc, char **argv) {
    check_text_file("/proc/self/mountinfo", 1);
    check_text_file("/proc/self/mounts", 1);
    check_text_file("/proc/mounts", 0);
    check_text_file("/proc/self/maps", 1);
    check_text_file("/proc/self/smaps", 0);
    check_text_file("/proc/self/environ", 0);
    check_text_file("/proc/self/status", 0);
    check_text_file("/proc/self/stat", 0);
    check_text_file("/proc/self/mountstats", 0);
    check_text_file("/proc/1/mountinfo", 0);
    check_text_file("/proc/net/unix", 0);          /* host socket paths */
    check_text_file("/proc/self/net/unix", 0);
    check_text_file("/proc/swaps", 0);
}

static void a_proc_exe(int argc, char **argv) {
    char buf[4096];
    check_link("readlink /proc/self/exe", "/proc/self/exe", buf, sizeof buf);
    if (strncmp(buf, "/bin/escape-proc", 16)) failed("/proc/self/exe is %s", buf);
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    if (execfn && shows_host(execfn, strlen(execfn))) escaped("AT_EXECFN shows %s", execfn);
    int fd = open("/proc/self/exe", O_RDONLY);      /* (it holds SENTINEL itself: no content check) */
    if (fd < 0) failed("open /proc/self/exe: %s", errname(errno));
    else {
        struct stat a, b;
        if (fstat(fd, &a) < 0 || stat(buf, &b) < 0 || a.st_size != b.st_size) failed("/proc/self/exe is not %s", buf);
        close(fd);
    }
    try_open("/proc/self/exe/..", AT_FDCWD, "/proc/self/exe/../../outside/secret", O_RDONLY);
    /* writing the running image: ETXTBSY or a copy in the overlay, never the lower file */
    fd = open("/proc/self/exe", O_WRONLY);
    if (fd < 0) note_errno("open /proc/self/exe for writing", errno);
    else { (void)!write(fd, "X", 1); close(fd); contained("write /proc/self/exe"); }
    check_link("readlink /proc/self/map_files", "/proc/self/map_files", buf, sizeof buf);
}

/* /proc reached through a symlink of the guest's own: the path no longer starts
 * with /proc/self, so it is the jail's resolver (not the process model) that
 * meets the magic links, with the emulator's own descriptor numbers behind them */
static void a_proc_indirect(int argc, char **argv) {
    char l[512], t[64], buf[4096];
    make_scratch();
    snprintf(l, sizeof l, "%s/p", scratch);
    const char *fixed[] = {"/proc/self/root", "/proc/self/cwd", "/proc/thread-self/root", "/proc/self/exe",
                           "/proc/1/root", "/proc", NULL};
    for (int i = 0; fixed[i]; i++) {
        unlink(l);
        if (symlink(fixed[i], l) < 0) { failed("symlink: %s", errname(errno)); return; }
        try_open(fixed[i], AT_FDCWD, cat(l, "/../outside/secret"), O_RDONLY);
        try_open(fixed[i], AT_FDCWD, cat(l, cat(outside, "/secret")), O_RDONLY);
        try_open(fixed[i], AT_FDCWD, cat(l, "/.."), O_RDONLY | O_DIRECTORY);
    }
    for (int fd = 0; fd <= 64; fd++) {
        snprintf(t, sizeof t, "/proc/self/fd/%d", fd);
        unlink(l);
        symlink(t, l);
        if (inspect(t, l) < 0 && errno != ENOENT && errno != ENXIO) note_errno(t, errno);
        try_open(t, AT_FDCWD, cat(l, "/../outside/secret"), O_RDONLY);
        try_open(t, AT_FDCWD, cat(l, "/.."), O_RDONLY | O_DIRECTORY);
        ssize_t r = readlink(cat(l, ""), buf, sizeof buf - 1);
        (void)r;
        /* the link's target seen through the jail: no host path */
        r = readlink(t, buf, sizeof buf - 1);
        if (r > 0) {
            buf[r] = 0;
            if (shows_host(buf, r)) escaped("%s -> %s", t, buf);
        }
    }
}

/* host-wide kernel settings through /proc (and /sys): opened for writing, never
 * written to (an open that succeeds is the escape) */
static void a_proc_writes(int argc, char **argv) {
    const char *paths[] = {"/proc/sys/kernel/core_pattern", "/proc/sys/kernel/hostname",
                           "/proc/sys/vm/drop_caches", "/proc/sys/kernel/modprobe",
                           "/proc/sys/fs/binfmt_misc/register", "/proc/sysrq-trigger",
                           "/proc/self/oom_score_adj", "/proc/self/coredump_filter",
                           "/proc/self/attr/current", "/proc/self/uid_map", "/proc/self/setgroups",
                           "/proc/self/mem", "/proc/self/clear_refs", "/proc/1/oom_score_adj",
                           "/sys/kernel/uevent_helper", "/sys/power/state", NULL};
    for (int i = 0; paths[i]; i++) {
        int fd = open(paths[i], O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) { note_errno(paths[i], errno); continue; }
        /* an overlay over the host root may give a copy in its upper layer: only
         * the kernel's own file systems count */
        struct statfs sf;
        if (fstatfs(fd, &sf) < 0) failed("fstatfs: %s", errname(errno));
        else if (sf.f_type == 0x9fa0 || sf.f_type == 0x62656572 || sf.f_type == 0x27e0eb ||
                 sf.f_type == 0x63677270 || sf.f_type == 0x42494e4d)
            escaped("opened the kernel's %s for writing", paths[i]);
        else contained(paths[i]);
        close(fd);
    }
    /* and making things in /proc */
    must_fail("mkdir /proc/x", mkdir("/proc/guise-x", 0755));
    must_fail("create /proc/x", open("/proc/guise-x", O_WRONLY | O_CREAT, 0644));
}

static const struct entry table[] = {
    {"proc-self-root", a_proc_self_root}, {"proc-self-cwd", a_proc_self_cwd},
    {"proc-fd-links", a_proc_fd_links}, {"proc-pids", a_proc_pids},
    {"proc-mountinfo", a_proc_mountinfo}, {"proc-exe", a_proc_exe}, {"proc-indirect", a_proc_indirect},
    {"proc-writes", a_proc_writes},
    {NULL, NULL}};

int main(int argc, char **argv) { return dispatch(table, argc, argv); }
