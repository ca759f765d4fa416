/* Signal handlers: raise/kill, SA_SIGINFO, masks and pending signals, faults caught
   with siglongjmp, registers and FP state preserved across a handler, alarm()
   interrupting a busy loop and a blocking read (EINTR vs SA_RESTART), sigaltstack. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t hits, last_sig, alarmed;
static volatile int info_code, info_signo;
static volatile void *fault_addr;
static sigjmp_buf jb;
static char altstack[65536];
static volatile int on_alt;

static void plain(int sig) { hits++; last_sig = sig; }
static void with_info(int sig, siginfo_t *si, void *uc) { (void)uc; info_signo = si->si_signo; info_code = si->si_code; last_sig = sig; }
static void on_fault(int sig, siginfo_t *si, void *uc) { (void)uc; last_sig = sig; fault_addr = si->si_addr; siglongjmp(jb, 1); }
static void on_alarm(int sig) { (void)sig; alarmed = 1; }
static void check_alt(int sig) { char here; (void)sig; on_alt = &here >= altstack && &here < altstack + sizeof altstack; }
static void clobber(int sig) { (void)sig; volatile double x = 1e300; for (int i = 0; i < 10; i++) x *= 1.5; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = plain;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    kill(getpid(), SIGUSR1);
    printf("plain handler: hits=%d sig=%d\n", hits, last_sig);

    sa.sa_flags = SA_SIGINFO;
    sa.sa_sigaction = with_info;
    sigaction(SIGUSR2, &sa, NULL);
    raise(SIGUSR2);
    printf("siginfo: signo=%d code=%d (SI_TKILL=%d)\n", info_signo, info_code, SI_TKILL);

    sigset_t set, old, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &old);
    hits = 0;
    raise(SIGUSR1);
    sigpending(&pend);
    printf("blocked: hits=%d pending=%d\n", hits, sigismember(&pend, SIGUSR1));
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("unblocked: hits=%d\n", hits);

    double a = 1.25, b = 3.5;
    sa.sa_flags = 0;
    sa.sa_handler = clobber;
    sigaction(SIGHUP, &sa, NULL);
    volatile double before = a * b;
    raise(SIGHUP);
    printf("fp preserved: %s\n", before == a * b && a == 1.25 ? "yes" : "no");

    sa.sa_flags = SA_SIGINFO;
    sa.sa_sigaction = on_fault;
    sigaction(SIGSEGV, &sa, NULL);
    if (sigsetjmp(jb, 1) == 0) { *(volatile int *)16 = 1; puts("no fault?"); }
    printf("caught SIGSEGV at %p\n", (void *)fault_addr);
    sigaction(SIGFPE, &sa, NULL);
    volatile int zero = 0;
    if (sigsetjmp(jb, 1) == 0) { printf("%d\n", 1 / zero); }
    printf("caught signal %d (SIGFPE=%d)\n", last_sig, SIGFPE);

    sa.sa_flags = 0;
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    alarm(1);
    unsigned long spins = 0;
    while (!alarmed) spins++;
    printf("alarm ended a busy loop: %s\n", spins > 0 ? "yes" : "no");

    int fds[2];
    pipe(fds);
    alarmed = 0;
    alarm(1);
    char c;
    ssize_t r = read(fds[0], &c, 1);
    printf("read interrupted: r=%zd eintr=%d alarmed=%d\n", r, r < 0 && errno == EINTR, alarmed);

    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    sa.sa_flags = SA_ONSTACK;
    sa.sa_handler = check_alt;
    sigaction(SIGWINCH, &sa, NULL);
    raise(SIGWINCH);
    printf("handler ran on the alternate stack: %s\n", on_alt ? "yes" : "no");

    signal(SIGTERM, SIG_IGN);
    raise(SIGTERM);
    puts("SIGTERM ignored");
    signal(SIGTERM, SIG_DFL);
    raise(SIGTERM);
    puts("not reached");
    return 0;
}
