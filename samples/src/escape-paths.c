/* Jail escape corpus: path resolution (.., symlinks, dirfds, long paths,
 * getcwd, unix-socket paths, exec of outside paths, openat2).
 * usage: escape-paths ATTEMPT OUTSIDE_DIR [args]   (see escape.h) */
#include "escape.h"
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

static void a_dotdot(int argc, char **argv) {
    try_open("/../outside/secret", AT_FDCWD, "/../outside/secret", O_RDONLY);
    try_open("/.. listing", AT_FDCWD, "/..", O_RDONLY | O_DIRECTORY);
    try_open("/../../.. listing", AT_FDCWD, "/../../..", O_RDONLY | O_DIRECTORY);
    for (int k = 1; k <= 40; k += 3) {
        char what[64];
        snprintf(what, sizeof what, "../ x%d outside/secret", k);
        try_open(what, AT_FDCWD, ups(k, "outside/secret"), O_RDONLY);
        snprintf(what, sizeof what, "../ x%d host path", k);
        try_open(what, AT_FDCWD, ups(k, cat(outside + 1, "/secret")), O_RDONLY);
    }
    if (chdir("/tmp") == 0)
        for (int k = 1; k <= 12; k++) try_open("cwd /tmp ../ xk", AT_FDCWD, ups(k, "outside/secret"), O_RDONLY);
    try_open("host absolute", AT_FDCWD, cat(outside, "/secret"), O_RDONLY);
}

static void a_dotdot_create(int argc, char **argv) {
    for (int k = 1; k <= 30; k += 4) {
        try_open("create ../ xk outside/created", AT_FDCWD, ups(k, "outside/created"), O_WRONLY | O_CREAT);
        try_open("create ../ xk host path", AT_FDCWD, ups(k, cat(outside + 1, "/created")), O_WRONLY | O_CREAT);
    }
    try_open("create host absolute", AT_FDCWD, cat(outside, "/created"), O_WRONLY | O_CREAT | O_EXCL);
    must_fail("mkdir host absolute", mkdir(cat(outside, "/createddir"), 0755));
    must_fail("mkdir ../ x20", mkdir(ups(20, "outside/createddir"), 0755));
}

static void links_common(const char *target_file, const char *target_dir) {
    char l[512], d[512];
    make_scratch();
    snprintf(l, sizeof l, "%s/l", scratch);
    snprintf(d, sizeof d, "%s/d", scratch);
    if (symlink(target_file, l) < 0) { failed("symlink %s: %s", l, errname(errno)); return; }
    if (symlink(target_dir, d) < 0) { failed("symlink %s: %s", d, errname(errno)); return; }
    try_open("open file link", AT_FDCWD, l, O_RDONLY);
    try_open("open dir link/secret", AT_FDCWD, cat(d, "/secret"), O_RDONLY);
    try_open("list dir link", AT_FDCWD, d, O_RDONLY | O_DIRECTORY);
    try_open("list dir link/..", AT_FDCWD, cat(d, "/.."), O_RDONLY | O_DIRECTORY);
    try_open("create through dir link", AT_FDCWD, cat(d, "/created"), O_WRONLY | O_CREAT);
    try_open("create through file link", AT_FDCWD, cat(l, ""), O_WRONLY | O_CREAT | O_TRUNC);
    struct stat st;
    must_fail("stat dir link/secret", stat(cat(d, "/secret"), &st));
    must_fail("chmod through file link", chmod(l, 0777));
    must_fail("truncate through file link", truncate(l, 0));
    must_fail("mkdir through dir link", mkdir(cat(d, "/createddir"), 0755));
}

static void a_symlink_abs(int argc, char **argv) { links_common(cat(outside, "/secret"), outside); }

static void a_symlink_rel(int argc, char **argv) {
    links_common(ups(40, "outside/secret"), ups(40, "outside"));
}

static void a_symlink_root(int argc, char **argv) {
    char r[512];
    make_scratch();
    snprintf(r, sizeof r, "%s/r", scratch);
    if (symlink("/", r) < 0) { failed("symlink: %s", errname(errno)); return; }
    int fd = open(cat(r, "/etc/secret"), O_RDONLY);   /* the link works, inside */
    if (fd < 0) failed("open r/etc/secret: %s", errname(errno));
    else { check_fd("r/etc/secret", fd); close(fd); }
    try_open("r/../outside/secret", AT_FDCWD, cat(r, "/../outside/secret"), O_RDONLY);
    try_open("r/.. listing", AT_FDCWD, cat(r, "/.."), O_RDONLY | O_DIRECTORY);
    try_open("r/../../.. listing", AT_FDCWD, cat(r, "/../../.."), O_RDONLY | O_DIRECTORY);
    try_open("r/<host path>", AT_FDCWD, cat(r, cat(outside, "/secret")), O_RDONLY);
    try_open("r/../<host path> create", AT_FDCWD, cat(r, cat("/..", cat(outside, "/created"))),
             O_WRONLY | O_CREAT);
    /* a chain: link to link to / */
    char r2[512];
    snprintf(r2, sizeof r2, "%s/r2", scratch);
    symlink("r/..", r2);
    try_open("r2/../outside/secret", AT_FDCWD, cat(r2, "/../outside/secret"), O_RDONLY);
    try_open("r2 listing", AT_FDCWD, r2, O_RDONLY | O_DIRECTORY);
}

/* links shipped in the lower tree (made by the test on the host) */
static void a_lower_links(int argc, char **argv) {
    const char *files[] = {"/links/abs", "/links/rel", "/links/chain", NULL};
    const char *dirs[] = {"/links/absdir", "/links/reldir", "/links/root/..", "/links/root/../..", NULL};
    for (int i = 0; files[i]; i++) {
        try_open(files[i], AT_FDCWD, files[i], O_RDONLY);
        try_open(files[i], AT_FDCWD, files[i], O_WRONLY | O_CREAT);
    }
    for (int i = 0; dirs[i]; i++) {
        try_open(dirs[i], AT_FDCWD, dirs[i], O_RDONLY | O_DIRECTORY);
        try_open(dirs[i], AT_FDCWD, cat(dirs[i], "/secret"), O_RDONLY);
        try_open(dirs[i], AT_FDCWD, cat(dirs[i], "/created"), O_WRONLY | O_CREAT);
    }
    try_open("/links/root/<host path>", AT_FDCWD, cat("/links/root", cat(outside, "/secret")), O_RDONLY);
}

static void a_dirfd(int argc, char **argv) {
    int flags[] = {O_RDONLY | O_DIRECTORY, O_PATH | O_DIRECTORY};
    const char *dirs[] = {"/", "/tmp", "/etc"};
    for (int f = 0; f < 2; f++)
        for (int i = 0; i < 3; i++) {
            int dfd = open(dirs[i], flags[f]);
            if (dfd < 0) { failed("open %s: %s", dirs[i], errname(errno)); continue; }
            for (int k = 1; k <= 10; k += 3)
                try_open("openat(dirfd, ../ xk outside/secret)", dfd, ups(k, "outside/secret"), O_RDONLY);
            try_open("openat(dirfd, ..) listing", dfd, "..", O_RDONLY | O_DIRECTORY);
            try_open("openat(dirfd, host absolute)", dfd, cat(outside, "/secret"), O_RDONLY);
            try_open("openat(dirfd, create ../ x8)", dfd, ups(8, "outside/created"), O_WRONLY | O_CREAT);
            struct stat st;
            must_fail("fstatat(dirfd, ../../outside/secret)", fstatat(dfd, "../../outside/secret", &st, 0));
            must_fail("mkdirat(dirfd, ../../outside/x)", mkdirat(dfd, "../../outside/createddir", 0755));
            close(dfd);
        }
}

static void a_longpath(int argc, char **argv) {
    static char p[9000];
    strcpy(p, "/");
    while (strlen(p) < 4200) strcat(p, "a/");
    strcat(p, "x");
    try_open("path > PATH_MAX", AT_FDCWD, p, O_RDONLY);
    try_open("../ x1500 (4500 chars)", AT_FDCWD, ups(1500, "outside/secret"), O_RDONLY);
    try_open("create ../ x1500", AT_FDCWD, ups(1500, "outside/created"), O_WRONLY | O_CREAT);
    char comp[400];
    memset(comp, 'c', 300);
    comp[300] = 0;
    try_open("component > NAME_MAX", AT_FDCWD, cat("/tmp/", comp), O_WRONLY | O_CREAT);
    /* "./" padding up to just under PATH_MAX, then a climb */
    strcpy(p, "/");
    while (strlen(p) < 4000) strcat(p, "./");
    strcat(p, "../outside/secret");
    try_open("./ padding then ..", AT_FDCWD, p, O_RDONLY);
}

/* a directory tree deeper than PATH_MAX, then climbs out of it */
static void a_deepdir(int argc, char **argv) {
    char name[201];
    memset(name, 'd', 200);
    name[200] = 0;
    make_scratch();
    if (chdir(scratch) < 0) { failed("chdir scratch: %s", errname(errno)); return; }
    int depth = 30;                               /* 30 * 201 > 4096 */
    for (int i = 0; i < depth; i++)
        if (mkdir(name, 0755) < 0 || chdir(name) < 0) { failed("mkdir/chdir at %d: %s", i, errname(errno)); return; }
    static char buf[16384];
    if (getcwd(buf, sizeof buf)) {
        fprintf(stderr, "  getcwd: %zu chars\n", strlen(buf));
        if (shows_host(buf, strlen(buf))) escaped("getcwd shows host path");
        if (strncmp(buf, scratch, strlen(scratch))) failed("getcwd does not start with %s", scratch);
    }
    int below = depth + 2;                        /* scratch is /tmp/x */
    try_open("climb exactly to / then outside", AT_FDCWD, ups(below + 1, "outside/secret"), O_RDONLY);
    try_open("climb past /", AT_FDCWD, ups(below + 5, "outside/secret"), O_RDONLY);
    try_open("climb past / listing", AT_FDCWD, ups(below + 5, ""), O_RDONLY | O_DIRECTORY);
    for (int i = 0; i < below + 5; i++) chdir("..");
    if (!getcwd(buf, sizeof buf)) failed("getcwd after climb: %s", errname(errno));
    else if (strcmp(buf, "/")) failed("getcwd after climbing is %s, not /", buf);
    try_open("outside/secret after climb", AT_FDCWD, "outside/secret", O_RDONLY);
    try_open(". listing after climb", AT_FDCWD, ".", O_RDONLY | O_DIRECTORY);
}

static void a_stat_outside(int argc, char **argv) {
    const char *paths[] = {"/../outside/secret", cat(outside, "/secret"), ups(30, "outside/secret"), NULL};
    char buf[256];
    struct stat st;
    for (int i = 0; paths[i]; i++) {
        must_fail("stat", stat(paths[i], &st));
        must_fail("lstat", lstat(paths[i], &st));
        must_fail("access", access(paths[i], F_OK));
        must_fail("readlink", readlink(paths[i], buf, sizeof buf));
        must_fail("truncate", truncate(paths[i], 0));
        must_fail("chmod", chmod(paths[i], 0777));
        must_fail("chown", chown(paths[i], 0, 0));
        must_fail("utimensat", utimensat(AT_FDCWD, paths[i], NULL, 0));
        must_fail("unlink", unlink(paths[i]));
        must_fail("chdir outside dir", chdir(cat(paths[i], "/..")));
    }
}

static void a_getcwd(int argc, char **argv) {
    char buf[4096];
    if (chdir("/tmp") < 0) { failed("chdir /tmp: %s", errname(errno)); return; }
    if (!getcwd(buf, sizeof buf) || strcmp(buf, "/tmp")) failed("getcwd in /tmp: %s", buf);
    if (shows_host(buf, strlen(buf))) escaped("getcwd shows %s", buf);
    long r = syscall(SYS_getcwd, buf, sizeof buf);      /* the raw call as well */
    if (r < 0 || strcmp(buf, "/tmp")) failed("raw getcwd: %s", buf);
    for (int i = 0; i < 10; i++) chdir("..");
    if (!getcwd(buf, sizeof buf) || strcmp(buf, "/")) failed("getcwd after cd ..: %s", buf);
    try_open("outside/secret from /", AT_FDCWD, "outside/secret", O_RDONLY);
    try_open("listing of cwd", AT_FDCWD, ".", O_RDONLY | O_DIRECTORY);
    must_fail("chdir host absolute", chdir(outside));
    if (getcwd(buf, sizeof buf) && shows_host(buf, strlen(buf))) escaped("getcwd shows %s", buf);
}

static int un_addr(struct sockaddr_un *sa, const char *path) {
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa->sun_path) return -1;
    strcpy(sa->sun_path, path);
    return 0;
}

static void a_unix_socket(int argc, char **argv) {
    struct sockaddr_un sa;
    char l[512];
    make_scratch();
    snprintf(l, sizeof l, "%s/sl", scratch);
    symlink(cat(outside, "/sock"), l);
    const char *targets[] = {cat(outside, "/sock"), "/../outside/sock", ups(30, "outside/sock"), l,
                             "/proc/self/root/../outside/sock", NULL};
    for (int i = 0; targets[i]; i++) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        if (s < 0) { failed("socket: %s", errname(errno)); return; }
        if (un_addr(&sa, targets[i]) < 0) { failed("path too long: %s", targets[i]); close(s); continue; }
        if (connect(s, (struct sockaddr *)&sa, sizeof sa) == 0) {
            char buf[128] = {0};
            ssize_t n = read(s, buf, sizeof buf - 1);
            escaped("connected to host socket via %s (%zd bytes)", targets[i], n);
        } else note_errno(targets[i], errno);
        close(s);
        s = socket(AF_UNIX, SOCK_DGRAM, 0);
        if (sendto(s, "x", 1, 0, (struct sockaddr *)&sa, sizeof sa) >= 0) escaped("sendto host socket via %s", targets[i]);
        else note_errno(targets[i], errno);
        close(s);
    }
    const char *binds[] = {cat(outside, "/newsock"), "/../outside/newsock", ups(30, "outside/newsock"), NULL};
    for (int i = 0; binds[i]; i++) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        un_addr(&sa, binds[i]);
        must_fail(binds[i], bind(s, (struct sockaddr *)&sa, sizeof sa));
        close(s);
    }
    /* a socket inside the jail works and stays inside */
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    un_addr(&sa, cat(scratch, "/mine"));
    if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0) failed("bind inside: %s", errname(errno));
    close(s);
}

/* sockets a host process bound, visible in the jail's lower tree (a host root's
 * /run/docker.sock, the D-Bus bus): without the network, connect/sendto refused.
 * usage: escape-paths host-socket OUTSIDE_DIR STREAM_SOCKET_PATH [DGRAM_SOCKET_PATH] */
static void a_host_socket(int argc, char **argv) {
    if (argc < 4) { failed("no socket path"); return; }
    const char *stream = argv[3], *dgram = argc > 4 ? argv[4] : NULL;
    struct sockaddr_un sa;
    char l[512], h[512];
    make_scratch();
    snprintf(l, sizeof l, "%s/sl", scratch);
    symlink(stream, l);
    snprintf(h, sizeof h, "%s.hl", stream);
    const char *targets[] = {stream, l, cat("/proc/self/root", stream), h, NULL};
    for (int i = 0; targets[i]; i++) {
        /* last, a hard link (it copies the socket up: a dead socket shadows the
         * host's from then on, so it comes after the others) */
        if (targets[i] == h && link(stream, h) < 0) note_errno("link", errno);
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        if (un_addr(&sa, targets[i]) < 0) { failed("path too long: %s", targets[i]); close(s); continue; }
        if (connect(s, (struct sockaddr *)&sa, sizeof sa) == 0) escaped("connected to the host's %s", targets[i]);
        else note_errno(targets[i], errno);
        close(s);
    }
    if (dgram) {
        int s = socket(AF_UNIX, SOCK_DGRAM, 0);
        un_addr(&sa, dgram);
        if (sendto(s, "x", 1, 0, (struct sockaddr *)&sa, sizeof sa) >= 0) escaped("sent to the host's %s", dgram);
        else note_errno(dgram, errno);
        if (connect(s, (struct sockaddr *)&sa, sizeof sa) == 0) escaped("connected to the host's %s", dgram);
        else note_errno(dgram, errno);
        close(s);
    }
}

/* files only their (root) owner may read, in a host root the jail shows: as the
 * identity the jail reports (uid 65534), Linux says EACCES.
 * usage: escape-paths private-files OUTSIDE_DIR FILE_0600 DIR_0700 */
static void a_private_files(int argc, char **argv) {
    if (argc < 5) { failed("usage"); return; }
    const char *f = argv[3], *d = argv[4];
    if (getuid() == 0) { failed("the guest is root: nothing to check"); return; }
    try_open("read a 0600 file", AT_FDCWD, f, O_RDONLY);
    try_open("list a 0700 directory", AT_FDCWD, d, O_RDONLY | O_DIRECTORY);
    try_open("read a file in a 0700 directory", AT_FDCWD, cat(d, "/secret"), O_RDONLY);
    must_fail("access(R_OK) of a 0600 file", access(f, R_OK));
    try_open("write a 0600 file", AT_FDCWD, f, O_WRONLY);
}

static void a_exec_outside(int argc, char **argv) {
    char l[512];
    char *args[] = {"prog", "exec-payload", NULL};
    char *env[] = {NULL};
    make_scratch();
    snprintf(l, sizeof l, "%s/lx", scratch);
    symlink(cat(outside, "/prog"), l);
    const char *targets[] = {cat(outside, "/prog"), "/../outside/prog", ups(30, "outside/prog"), l,
                             "/proc/self/root/../outside/prog", NULL};
    for (int i = 0; targets[i]; i++) must_fail(targets[i], execve(targets[i], args, env));
    int dfd = open("/", O_PATH | O_DIRECTORY);
#ifdef SYS_execveat
    must_fail("execveat(/, ../outside/prog)", syscall(SYS_execveat, dfd, "../outside/prog", args, env, 0));
#endif
}

/* what the outside copy of this program does if an exec ever reaches it */
static void a_exec_payload(int argc, char **argv) { escaped("an outside executable ran"); }

struct open_how_ { unsigned long long flags, mode, resolve; };
static void a_openat2(int argc, char **argv) {
    const unsigned long long resolves[] = {0, 0x08 /* NO_SYMLINKS */, 0x10 /* IN_ROOT */, 0x02 /* NO_MAGICLINKS */};
    const char *paths[] = {"/../outside/secret", ups(20, "outside/secret"), cat(outside, "/secret"),
                           "/proc/self/root/../outside/secret", NULL};
    int dfd = open("/tmp", O_PATH | O_DIRECTORY);
    for (int r = 0; r < 4; r++)
        for (int i = 0; paths[i]; i++) {
            struct open_how_ how = {O_RDONLY, 0, resolves[r]};
            long fd = syscall(437, dfd, paths[i], &how, sizeof how);
            if (fd < 0) note_errno(paths[i], errno);
            else { check_fd(paths[i], fd); close(fd); }
        }
}

static const struct entry table[] = {
    {"dotdot", a_dotdot}, {"dotdot-create", a_dotdot_create}, {"symlink-abs", a_symlink_abs},
    {"symlink-rel", a_symlink_rel}, {"symlink-root", a_symlink_root}, {"lower-links", a_lower_links},
    {"dirfd", a_dirfd}, {"longpath", a_longpath}, {"deepdir", a_deepdir},
    {"stat-outside", a_stat_outside}, {"getcwd", a_getcwd}, {"unix-socket", a_unix_socket},
    {"host-socket", a_host_socket}, {"private-files", a_private_files},
    {"exec-outside", a_exec_outside}, {"exec-payload", a_exec_payload}, {"openat2", a_openat2},
    {NULL, NULL}};

int main(int argc, char **argv) { return dispatch(table, argc, argv); }
