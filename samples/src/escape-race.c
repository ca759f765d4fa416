/* Jail escape corpus: a symlink swapped by another thread between the check
 * and the use.  One thread keeps replacing the link D (atomically, by rename)
 * between a harmless target (a directory inside) and escaping targets (the
 * host path of the outside dir, ../../.. up to it, /); the main thread opens
 * D/secret (race-read) or creates D/created (race-create) through it.
 * usage: escape-race ATTEMPT OUTSIDE_DIR ITERATIONS SECONDS
 * stderr gets: race: iterations=N inside=I refused=R swaps=S */
#include "escape.h"
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

static char dpath[512], tpath[512], real[512];
static const char *targets[6];
static volatile int done;
static volatile long swaps;

static void *swapper(void *arg) {
    long k = 0;
    while (!done) {
        const char *t = targets[k++ % 6];
        unlink(tpath);
        if (symlink(t, tpath) < 0 || rename(tpath, dpath) < 0) continue;
        swaps++;
        for (volatile int j = 0; j < (int)((k * 7919) % 97); j++) ;   /* jitter */
    }
    return NULL;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* what the opener does with a descriptor it got through the swapped name: writes
 * (create) or reads it; 1 when that was the inside file, 0 when the outside one */
static int landed_inside(int fd, int create, long i) {
    char buf[64];
    int inside = 1;
    if (create) (void)!write(fd, "race\n", 5);
    else {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0 && shows_host(buf, n)) { escaped("read the outside file at iteration %ld", i); inside = 0; }
    }
    close(fd);
    return inside;
}

/* fork the process that swaps names (0 in it, which then loops forever; -1 after
 * reporting FAILED); the parent goes on once the child runs (a short head start) */
static pid_t swapping_process(void) {
    int ready[2];
    if (pipe(ready) < 0) { failed("pipe: %s", errname(errno)); return -1; }
    pid_t child = fork();
    if (child < 0) { failed("fork: %s", errname(errno)); return -1; }
    if (child == 0) {
        (void)!write(ready[1], "r", 1);
        return 0;
    }
    char r;
    if (read(ready[0], &r, 1) != 1) failed("the swapping process did not start");
    close(ready[0]);
    close(ready[1]);
    return child;
}

/* the directory the races open through: DIR/secret says "inside" */
static int make_inside(const char *dir) {
    if (mkdir(dir, 0755) < 0) { failed("mkdir %s: %s", dir, errname(errno)); return -1; }
    return make_file(cat(dir, "/secret"), "inside\n");
}

static void race(int argc, char **argv, int create) {
    long iterations = argc > 3 ? atol(argv[3]) : 1000;
    double seconds = argc > 4 ? atof(argv[4]) : 10;
    make_scratch();
    snprintf(real, sizeof real, "%s/real", scratch);
    snprintf(dpath, sizeof dpath, "%s/d", scratch);
    snprintf(tpath, sizeof tpath, "%s/t", scratch);
    if (make_inside(real) < 0) return;
    targets[0] = targets[2] = targets[4] = "real";
    targets[1] = outside;                      /* the host path */
    targets[3] = ups(40, "outside");           /* climbing */
    targets[5] = "/";                          /* the root: D/secret is /secret, absent */
    symlink("real", dpath);
    pthread_t th;
    if (pthread_create(&th, NULL, swapper, NULL)) { failed("pthread_create"); return; }
    long i, inside = 0, refused = 0;
    double end = now() + seconds;
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dpath, create ? "created" : "secret");
    for (i = 0; i < iterations && (i & 15 || now() < end); i++) {
        /* jitter, so the two threads do not fall into lock step */
        for (volatile int k = 0; k < (int)((i * 7919) % 61); k++) ;
        int fd = create ? open(path, O_WRONLY | O_CREAT, 0644) : open(path, O_RDONLY);
        if (fd < 0) {
            if (errno != ENOENT) note_errno("open through the swapped link", errno);
            refused++;
            continue;
        }
        inside += landed_inside(fd, create, i);
        /* where did it land? only ever real/ */
        if (create && unlink(cat(real, "/created")) < 0) {
            if (unlink(path) == 0) fprintf(stderr, "  created through another target (unlinked)\n");
        }
    }
    done = 1;
    pthread_join(th, NULL);
    if (refused) note_errno("refusals", ENOENT);
    fprintf(stderr, "race: iterations=%ld inside=%ld refused=%ld swaps=%ld\n", i, inside, refused, swaps);
}

static void a_race_read(int argc, char **argv) { race(argc, argv, 0); }

/* no swapping thread: the HOST swaps PATH's directory for a symlink to the
 * outside directory (renameat2 RENAME_EXCHANGE) while this opens PATH in a loop,
 * which races the jail's resolver between its look at a name and its use.
 * usage: escape-race race-host OUTSIDE_DIR ITERATIONS SECONDS PATH */
static void a_race_host(int argc, char **argv) {
    long iterations = argc > 3 ? atol(argv[3]) : 1000;
    double seconds = argc > 4 ? atof(argv[4]) : 10;
    const char *path = argc > 5 ? argv[5] : "/race/d/secret";
    int create = argc > 6 && !strcmp(argv[6], "create");   /* O_CREAT a new name instead */
    double end = now() + seconds;
    long i, inside = 0, refused = 0;
    for (i = 0; i < iterations && (i & 15 || now() < end); i++) {
        int fd = create ? open(path, O_WRONLY | O_CREAT, 0644) : open(path, O_RDONLY);
        if (fd < 0) {
            if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP) note_errno("open", errno);
            else if (refused == 0) note_errno("open", errno);
            refused++;
            continue;
        }
        inside += landed_inside(fd, create, i);
        if (create) unlink(path);
    }
    fprintf(stderr, "race: iterations=%ld inside=%ld refused=%ld swaps=0\n", i, inside, refused);
}
static void a_race_create(int argc, char **argv) { race(argc, argv, 1); }

/* unix sockets: the jail turns a guest socket path into a host path that the
 * host kernel resolves once more at connect().  A second guest PROCESS (no
 * emulator lock between processes) keeps replacing the name S between a socket
 * of the jail's own (bound, not listening: ECONNREFUSED) and a symlink to a
 * listening host socket outside; connect(S) must never reach the host's.
 * race-unix-new: S alternates between absent and the symlink instead.
 * usage: escape-race race-unix OUTSIDE_DIR ITERATIONS SECONDS  (OUTSIDE_DIR/sock listens) */
static void a_race_unix(int argc, char **argv) {
    long iterations = argc > 3 ? atol(argv[3]) : 1000;
    double seconds = argc > 4 ? atof(argv[4]) : 10;
    char real[512], s[512], t1[512], t2[512];
    make_scratch();
    snprintf(real, sizeof real, "%s/real", scratch);
    snprintf(s, sizeof s, "%s/s", scratch);
    snprintf(t1, sizeof t1, "%s/t1", scratch);
    snprintf(t2, sizeof t2, "%s/t2", scratch);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, real);
    int own = socket(AF_UNIX, SOCK_STREAM, 0);
    if (own < 0 || bind(own, (struct sockaddr *)&sa, sizeof sa) < 0) { failed("bind own socket: %s", errname(errno)); return; }
    link(real, s);
    int fresh = !strcmp(attempt, "race-unix-new");
    pid_t child = swapping_process();
    if (child < 0) return;
    if (child == 0)
        for (;;) {
            if (fresh) unlink(s);                            /* race-unix-new: no such name */
            else {
                unlink(t1);
                if (link(real, t1) == 0) rename(t1, s);      /* the jail's own socket */
            }
            unlink(t2);
            if (symlink(cat(outside, "/sock"), t2) == 0) rename(t2, s);   /* the host's */
        }
    strcpy(sa.sun_path, s);
    double end = now() + seconds;
    long i, refused = 0, absent = 0;
    for (i = 0; i < iterations && (i & 15 || now() < end); i++) {
        int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);   /* a full backlog: EAGAIN, not a wait */
        if (connect(c, (struct sockaddr *)&sa, sizeof sa) == 0) escaped("connected to the host socket at iteration %ld", i);
        else if (errno == EAGAIN) escaped("reached the host socket (backlog full) at iteration %ld", i);
        else if (errno == ECONNREFUSED) refused++;
        else if (errno == ENOENT) absent++;
        else note_errno("connect", errno);
        close(c);
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    if (refused) note_errno("connect (own socket, not listening)", ECONNREFUSED);
    if (absent) note_errno("connect (link to the host's)", ENOENT);
    fprintf(stderr, "race: iterations=%ld inside=%ld refused=%ld swaps=0\n", i, refused, absent);
}

/* like race-host, but the swapping is done by a second guest PROCESS (processes
 * share no emulator lock): D is a directory holding "secret", renamed away and
 * replaced by a symlink to the outside directory (host path, or ../ up to it)
 * and back.  The opener reads D/secret, or with "create" makes D/created.
 * usage: escape-race race-proc OUTSIDE_DIR ITERATIONS SECONDS [create] */
static void a_race_proc(int argc, char **argv) {
    long iterations = argc > 3 ? atol(argv[3]) : 1000;
    double seconds = argc > 4 ? atof(argv[4]) : 10;
    int create = argc > 5 && !strcmp(argv[5], "create");
    char d[512], d2[512], l[512], path[600];
    make_scratch();
    snprintf(d, sizeof d, "%s/d", scratch);
    snprintf(d2, sizeof d2, "%s/d2", scratch);
    snprintf(l, sizeof l, "%s/l", scratch);
    if (make_inside(d) < 0) return;
    pid_t child = swapping_process();
    if (child < 0) return;
    if (child == 0)
        for (int n = 0;; n++) {
            unlink(l);
            symlink(n & 1 ? outside : ups(40, "outside"), l);
            if (rename(d, d2) < 0) continue;              /* the directory away... */
            rename(l, d);                                 /* ...a symlink out in its place */
            unlink(d);
            rename(d2, d);                                /* and the directory back */
        }
    snprintf(path, sizeof path, "%s/%s", d, create ? "created" : "secret");
    double end = now() + seconds;
    long i, inside = 0, refused = 0;
    for (i = 0; i < iterations && (i & 15 || now() < end); i++) {
        int fd = create ? open(path, O_WRONLY | O_CREAT, 0644) : open(path, O_RDONLY);
        if (fd < 0) {
            if ((errno != ENOENT && errno != ENOTDIR) || !refused) note_errno("open", errno);
            refused++;
            continue;
        }
        inside += landed_inside(fd, create, i);
        if (create) unlink(path);
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    fprintf(stderr, "race: iterations=%ld inside=%ld refused=%ld swaps=0\n", i, inside, refused);
}

static const struct entry table[] = {{"race-read", a_race_read}, {"race-create", a_race_create},
                                     {"race-host", a_race_host}, {"race-unix", a_race_unix},
                                     {"race-unix-new", a_race_unix},
                                     {"race-proc", a_race_proc},
                                     {NULL, NULL}};

int main(int argc, char **argv) { return dispatch(table, argc, argv); }
