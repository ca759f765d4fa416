/* POSIX timers: a periodic SIGEV_SIGNAL timer counted by an SA_SIGINFO handler (SI_TIMER,
   si_value, si_timerid), timer_gettime/timer_getoverrun/timer_delete, SIGEV_NONE,
   TIMER_ABSTIME on CLOCK_REALTIME collected with sigwaitinfo, a CLOCK_PROCESS_CPUTIME_ID
   timer ending a busy loop, SIGEV_THREAD_ID, and bad arguments. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_timer_settime                     /* musl i386 names the time32 calls so */
#define SYS_timer_settime SYS_timer_settime32
#define SYS_timer_gettime SYS_timer_gettime32
#endif
#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

#define TRY(label, call) do { errno = 0; long r_ = (long)(call); int e_ = errno; \
    printf("%s: %ld %s\n", label, r_, r_ < 0 ? strerror(e_) : "ok"); } while (0)

static volatile sig_atomic_t ticks, bad_code, bad_value, bad_id, cpu_fired, overrun_phase, overrun_seen, overrun_match;
static volatile int expected_id;
static timer_t tick_timer;

static void on_tick(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)uc;
    ticks++;
    if (si->si_code != SI_TIMER) bad_code++;
    if (si->si_value.sival_int != 42) bad_value++;
    if (si->si_timerid != expected_id) bad_id++;
    if (overrun_phase && si->si_overrun > 0 && !overrun_seen) {
        /* the first signal after a blocked stretch: stop the fast timer right here */
        static const struct itimerspec off;
        overrun_seen = 1;
        overrun_match = timer_getoverrun(tick_timer) == si->si_overrun;
        timer_settime(tick_timer, 0, &off, NULL);
    }
}
static void on_cpu(int sig) { (void)sig; cpu_fired = 1; }

static long ms(const struct timespec *t) { return t->tv_sec * 1000 + t->tv_nsec / 1000000; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_flags = SA_SIGINFO;
    sa.sa_sigaction = on_tick;
    sigaction(SIGALRM, &sa, NULL);

    /* a periodic timer counted by the handler */
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGALRM;
    sev.sigev_value.sival_int = 42;
    timer_t t;
    TRY("timer_create", timer_create(CLOCK_MONOTONIC, &sev, &t));
    expected_id = (int)(intptr_t)t;
    tick_timer = t;
    printf("first timer id: %d\n", expected_id);
    struct itimerspec its = {{0, 5 * 1000 * 1000}, {0, 5 * 1000 * 1000}};
    TRY("timer_settime", timer_settime(t, 0, &its, NULL));
    struct itimerspec cur;
    timer_gettime(t, &cur);
    printf("gettime: interval %ld ms, value in (0, 5] ms: %s\n", ms(&cur.it_interval),
           cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 5000000 ? "yes" : "no");
    sigset_t none;
    sigemptyset(&none);
    while (ticks < 5) sigsuspend(&none);
    printf("ticks >= 5: yes; bad si_code %d, bad si_value %d, bad si_timerid %d\n", bad_code, bad_value, bad_id);

    /* overruns: block the signal while the timer keeps expiring */
    sigset_t alrm;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    sigprocmask(SIG_BLOCK, &alrm, NULL);
    struct itimerspec fast = {{0, 1000 * 1000}, {0, 1000 * 1000}};
    timer_settime(t, 0, &fast, NULL);
    overrun_phase = 1;
    struct timespec nap = {0, 60 * 1000 * 1000};
    nanosleep(&nap, NULL);
    sigprocmask(SIG_UNBLOCK, &alrm, NULL);
    printf("the signal after unblocking carried an overrun: %s, timer_getoverrun agreed: %s\n",
           overrun_seen ? "yes" : "no", overrun_match ? "yes" : "no");

    /* disarm, old value, delete */
    struct itimerspec zero = {{0, 0}, {0, 0}}, old;
    timer_settime(t, 0, &its, NULL);
    timer_settime(t, 0, &zero, &old);
    printf("old interval: %ld ms\n", ms(&old.it_interval));
    timer_gettime(t, &cur);
    printf("disarmed: %ld %ld\n", ms(&cur.it_value), ms(&cur.it_interval));
    TRY("timer_delete", timer_delete(t));
    TRY("timer_delete again", syscall(SYS_timer_delete, expected_id));
    TRY("settime on a deleted timer", syscall(SYS_timer_settime, expected_id, 0, &its, NULL));

    /* SIGEV_NONE: nothing is sent, the timer still counts down */
    sev.sigev_notify = SIGEV_NONE;
    timer_t tn;
    TRY("SIGEV_NONE", timer_create(CLOCK_MONOTONIC, &sev, &tn));
    struct itimerspec ten = {{0, 0}, {10, 0}};
    timer_settime(tn, 0, &ten, NULL);
    timer_gettime(tn, &cur);
    printf("SIGEV_NONE counts down from 10 s: %s\n", cur.it_value.tv_sec == 9 ? "yes" : "no");
    timer_delete(tn);

    /* absolute time on CLOCK_REALTIME, collected with sigwaitinfo */
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR1;
    sev.sigev_value.sival_int = 7;
    timer_t ta;
    timer_create(CLOCK_REALTIME, &sev, &ta);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    now.tv_nsec += 30 * 1000 * 1000;
    if (now.tv_nsec >= 1000000000) { now.tv_sec++; now.tv_nsec -= 1000000000; }
    struct itimerspec at = {{0, 0}, now};
    TRY("TIMER_ABSTIME", timer_settime(ta, TIMER_ABSTIME, &at, NULL));
    siginfo_t si;
    int sig = sigwaitinfo(&usr1, &si);
    printf("sigwaitinfo: %d code SI_TIMER: %s value %d\n", sig, si.si_code == SI_TIMER ? "yes" : "no", si.si_value.sival_int);
    timer_delete(ta);

    /* SIGEV_THREAD_ID: to this thread */
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_notify_thread_id = syscall(SYS_gettid);
    sev.sigev_value.sival_int = 8;
    timer_t tt;
    TRY("SIGEV_THREAD_ID", timer_create(CLOCK_MONOTONIC, &sev, &tt));
    struct itimerspec soon = {{0, 0}, {0, 10 * 1000 * 1000}};
    timer_settime(tt, 0, &soon, NULL);
    sig = sigwaitinfo(&usr1, &si);
    printf("thread-directed: %d code SI_TIMER: %s value %d\n", sig, si.si_code == SI_TIMER ? "yes" : "no", si.si_value.sival_int);
    timer_delete(tt);
    sev.sigev_notify_thread_id = 1;              /* not one of our threads */
    TRY("SIGEV_THREAD_ID elsewhere", timer_create(CLOCK_MONOTONIC, &sev, &tt));

    /* CPU time: the timer ends a loop that makes no system calls */
    sa.sa_flags = 0;
    sa.sa_handler = on_cpu;
    sigaction(SIGUSR2, &sa, NULL);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR2;
    timer_t tc;
    TRY("CLOCK_PROCESS_CPUTIME_ID", timer_create(CLOCK_PROCESS_CPUTIME_ID, &sev, &tc));
    struct itimerspec cpu = {{0, 0}, {0, 20 * 1000 * 1000}};
    timer_settime(tc, 0, &cpu, NULL);
    unsigned long spins = 0;
    while (!cpu_fired) spins++;
    printf("cpu timer ended a busy loop: %s\n", spins > 0 ? "yes" : "no");
    timer_delete(tc);

    /* bad arguments (raw system calls: the libc wrappers would fault first) */
    int id;
    TRY("bad clock", syscall(SYS_timer_create, 1234, NULL, &id));
    TRY("bad sigevent pointer", syscall(SYS_timer_create, CLOCK_MONOTONIC, (void *)8, &id));
    TRY("bad id pointer", syscall(SYS_timer_create, CLOCK_MONOTONIC, NULL, (void *)8));
    sev.sigev_notify = 1234;
    TRY("bad sigev_notify", syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id));
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = 200;
    TRY("bad signal", syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id));
    timer_t tb;
    sev.sigev_signo = SIGUSR2;
    timer_create(CLOCK_MONOTONIC, &sev, &tb);
    struct itimerspec badns = {{0, 0}, {0, 1000000000}};
    TRY("bad tv_nsec", timer_settime(tb, 0, &badns, NULL));
    TRY("bad itimerspec pointer", syscall(SYS_timer_settime, (int)(intptr_t)tb, 0, (void *)8, NULL));
    TRY("bad timer id", syscall(SYS_timer_gettime, 4321, &cur));
    TRY("timer_getoverrun of a bad id", syscall(SYS_timer_getoverrun, 4321));
    timer_delete(tb);
    return 0;
}
