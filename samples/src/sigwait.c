/* Blocked signals wait in the kernel and are collected with sigwait/sigtimedwait/sigwaitinfo. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <time.h>
int main(void) {
    sigset_t s; sigemptyset(&s); sigaddset(&s, SIGUSR1); sigaddset(&s, SIGTERM);
    sigprocmask(SIG_BLOCK, &s, NULL);
    kill(getpid(), SIGTERM);          /* blocked: must not kill us */
    puts("still alive");
    int sig = 0; sigwait(&s, &sig); printf("sigwait got %d\n", sig);
    struct timespec t = {0, 50000000}; siginfo_t si;
    printf("timed out: %d\n", sigtimedwait(&s, &si, &t));
    if (fork() == 0) { kill(getppid(), SIGUSR1); _exit(0); }
    printf("sigwaitinfo: %d\n", sigwaitinfo(&s, &si));
    return 0;
}
