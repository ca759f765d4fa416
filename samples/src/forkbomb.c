/* A fork bomb, bounded by the caller's RLIMIT_NPROC (tests/test_hostile.py sets it): every
   process forks as fast as it can and every child joins in, until a fork fails; then all
   stop (a flag in shared memory), each reaps its children, and the first one reports.
   Without a limit of at most 200 processes it refuses to start. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

struct shared { volatile int stop, err, forks; };

int main(void) {
    struct rlimit rl;
    getrlimit(RLIMIT_NPROC, &rl);
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 200) {
        puts("refusing to start: set RLIMIT_NPROC to at most 200");
        return 2;
    }
    struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) { perror("mmap"); return 1; }
    pid_t root = getpid();
    while (!sh->stop) {
        pid_t pid = fork();
        if (pid < 0) {
            if (!sh->stop) sh->err = errno;
            sh->stop = 1;
            break;
        }
        if (pid == 0) continue;            /* the child joins the bomb */
        __sync_fetch_and_add(&sh->forks, 1);
    }
    while (wait(NULL) > 0 || errno == EINTR) {}
    if (getpid() != root) _exit(0);
    printf("a fork failed with %s after %s forks; everyone reaped: %s\n", strerror(sh->err),
           sh->forks > 1 ? "several" : "too few", wait(NULL) < 0 && errno == ECHILD ? "yes" : "no");
    return 0;
}
