/* Signal floods a parent must survive with the right count: a child sends SIGUSR1 5000
   times, each after the parent's handler acknowledged the previous one (standard signals
   do not queue: the handshake makes the count exact); then 5000 in a burst (some merge);
   then 3000 queued real-time signals with values taken with sigwaitinfo, and 2000 more
   run by an SA_SIGINFO handler when the parent unblocks them (real-time signals queue:
   counts and sums are exact). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 5000
#define BURST 5000
#define QUEUED 3000
#define HANDLED 2000

static volatile sig_atomic_t count, rt_count;
static volatile long rt_sum;
static void on_usr1(int sig) { (void)sig; count++; }
static void on_rt(int sig, siginfo_t *si, void *uc) { (void)sig; (void)uc; rt_count++; rt_sum += si->si_value.sival_int; }

static void reap(pid_t pid, const char *what) {
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) printf("%s: child status %#x\n", what, st);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t usr, old;
    sigemptyset(&usr);
    sigaddset(&usr, SIGUSR1);
    sigaddset(&usr, SIGUSR2);
    sigprocmask(SIG_BLOCK, &usr, &old);
    pid_t parent = getpid();

    /* 1: handshake */
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t ack;
        sigemptyset(&ack);
        sigaddset(&ack, SIGUSR2);
        for (int i = 0; i < ROUNDS; i++) {
            int sig;
            kill(parent, SIGUSR1);
            sigwait(&ack, &sig);
        }
        _exit(0);
    }
    for (int i = 0; i < ROUNDS; i++) {
        while (count <= i) sigsuspend(&old);
        kill(pid, SIGUSR2);
    }
    reap(pid, "handshake");
    printf("handshake: %d of %d\n", count, ROUNDS);

    /* 2: a burst while the parent waits for the child */
    count = 0;
    sigprocmask(SIG_SETMASK, &old, NULL);
    pid = fork();
    if (pid == 0) {
        for (int i = 0; i < BURST; i++) kill(parent, SIGUSR1);
        _exit(0);
    }
    reap(pid, "burst");
    printf("burst: survived, got between 1 and %d: %s\n", BURST, count >= 1 && count <= BURST ? "yes" : "no");

    /* 3: queued real-time signals with values, taken with sigwaitinfo */
    sigset_t rt;
    sigemptyset(&rt);
    sigaddset(&rt, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &rt, NULL);
    pid = fork();
    if (pid == 0) {
        for (int i = 1; i <= QUEUED; i++) {
            union sigval v = {.sival_int = i};
            while (sigqueue(parent, SIGRTMIN, v) != 0) if (errno != EAGAIN) _exit(1);
        }
        _exit(0);
    }
    long sum = 0;
    int got = 0;
    for (int i = 0; i < QUEUED; i++) {
        siginfo_t si;
        if (sigwaitinfo(&rt, &si) == SIGRTMIN && si.si_code == SI_QUEUE) { got++; sum += si.si_value.sival_int; }
    }
    reap(pid, "queued");
    printf("queued: %d of %d, sum %s\n", got, QUEUED, sum == (long)QUEUED * (QUEUED + 1) / 2 ? "right" : "wrong");

    /* 4: queued real-time signals run by a handler when unblocked */
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sa.sa_sigaction = on_rt;
    sigaction(SIGRTMIN + 1, &sa, NULL);
    sigset_t rt1;
    sigemptyset(&rt1);
    sigaddset(&rt1, SIGRTMIN + 1);
    sigprocmask(SIG_BLOCK, &rt1, NULL);
    pid = fork();
    if (pid == 0) {
        for (int i = 1; i <= HANDLED; i++) {
            union sigval v = {.sival_int = i};
            while (sigqueue(parent, SIGRTMIN + 1, v) != 0) if (errno != EAGAIN) _exit(1);
        }
        _exit(0);
    }
    reap(pid, "handled");
    sigprocmask(SIG_UNBLOCK, &rt1, NULL);
    int n = rt_count;
    printf("handled when unblocked: %d of %d, sum %s\n", n, HANDLED,
           rt_sum == (long)HANDLED * (HANDLED + 1) / 2 ? "right" : "wrong");
    return 0;
}
