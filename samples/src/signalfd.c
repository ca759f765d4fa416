/* signalfd: blocked signals read as struct signalfd_siginfo, with poll, select, epoll and
   read (EAGAIN with SFD_NONBLOCK), SFD_CLOEXEC, changing the mask of an existing signalfd,
   signals from raise/kill/sigqueue, from a child (SIGCHLD with its status) and from a
   POSIX timer (SI_TIMER, sigev_value), and bad arguments. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int got_handler;
static void on_usr2(int sig) { (void)sig; got_handler++; }

static const char *code_name(int code) {
    switch (code) {
    case SI_USER: return "SI_USER";
    case SI_TKILL: return "SI_TKILL";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_TIMER: return "SI_TIMER";
    case CLD_EXITED: return "CLD_EXITED";
    default: return "other";
    }
}

static void show(const char *what, struct signalfd_siginfo *si) {
    printf("%s: signo=%u code=%s pid=%s uid=%s", what, si->ssi_signo, code_name(si->ssi_code),
           si->ssi_pid == (unsigned)getpid() ? "self" : "other", si->ssi_uid == getuid() ? "self" : "other");
    if (si->ssi_code == SI_QUEUE || si->ssi_code == SI_TIMER) printf(" int=%d", si->ssi_int);
    if (si->ssi_signo == SIGCHLD) printf(" status=%d", si->ssi_status);
    putchar('\n');
}

/* the result of a call and the error it set, in that order (argument order is unspecified) */
#define TRY(label, call) do { errno = 0; long r_ = (long)(call); int e_ = errno; \
    printf("%s: %ld %s\n", label, r_, r_ < 0 ? strerror(e_) : "ok"); } while (0)

static int readone(int fd, const char *what) {
    struct signalfd_siginfo si;
    ssize_t n = read(fd, &si, sizeof si);
    if (n < 0) { printf("%s: read: %s\n", what, strerror(errno)); return -1; }
    if (n != sizeof si) { printf("%s: short read %zd\n", what, n); return -1; }
    show(what, &si);
    return si.ssi_signo;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("sizeof(struct signalfd_siginfo) = %zu\n", sizeof(struct signalfd_siginfo));
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, NULL);

    int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    printf("signalfd: %s, cloexec=%d nonblock=%d\n", fd >= 0 ? "ok" : strerror(errno),
           !!(fcntl(fd, F_GETFD) & FD_CLOEXEC), !!(fcntl(fd, F_GETFL) & O_NONBLOCK));
    struct signalfd_siginfo si;
    TRY("empty read", read(fd, &si, sizeof si));
    struct pollfd pfd = {fd, POLLIN, 0};
    printf("poll before: %d\n", poll(&pfd, 1, 0));

    raise(SIGUSR1);
    pfd.revents = 0;
    int r = poll(&pfd, 1, 1000);
    printf("poll after raise: %d revents=%#x\n", r, pfd.revents);
    TRY("small buffer", read(fd, &si, sizeof si - 1));
    readone(fd, "raise");
    printf("poll drained: %d\n", poll(&pfd, 1, 0));

    /* a handler is installed but the signal is blocked: it still goes to the signalfd */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr2;
    sigaction(SIGUSR2, &sa, NULL);
    sigset_t m2;
    sigemptyset(&m2);
    sigaddset(&m2, SIGUSR2);
    sigprocmask(SIG_BLOCK, &m2, NULL);
    kill(getpid(), SIGUSR2);
    /* SIGUSR2 is not in the signalfd's mask yet */
    printf("before the mask changes: %d\n", poll(&pfd, 1, 0));
    sigaddset(&mask, SIGUSR2);
    printf("update mask: %d\n", signalfd(fd, &mask, 0) == fd);
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(fd, &rd);
    struct timeval tv = {1, 0};
    printf("select: %d isset=%d\n", select(fd + 1, &rd, NULL, NULL, &tv), FD_ISSET(fd, &rd));
    readone(fd, "kill");
    printf("handler ran: %d\n", got_handler);

    /* sigqueue with a value, through epoll */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1234};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    union sigval v = {.sival_int = 4242};
    sigqueue(getpid(), SIGUSR1, v);
    struct epoll_event out;
    int n = epoll_wait(ep, &out, 1, 1000);
    printf("epoll: %d data=%#llx\n", n, (unsigned long long)out.data.u64);
    readone(fd, "sigqueue");

    /* several pending signals, read in one call */
    raise(SIGUSR1);
    raise(SIGUSR2);
    struct signalfd_siginfo two[4];
    ssize_t got = read(fd, two, sizeof two);
    printf("two pending: read %zd bytes:", got);
    for (int i = 0; i < got / (ssize_t)sizeof two[0]; i++) printf(" %u", two[i].ssi_signo);
    putchar('\n');

    /* a child's exit, read blocking (a second, blocking signalfd) */
    int bfd = signalfd(-1, &mask, 0);
    pid_t pid = fork();
    if (pid == 0) _exit(7);
    readone(bfd, "child");
    waitpid(pid, NULL, 0);

    /* a POSIX timer's signal */
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR1;
    sev.sigev_value.sival_int = 99;
    timer_t t;
    if (timer_create(CLOCK_MONOTONIC, &sev, &t) != 0) printf("timer_create: %s\n", strerror(errno));
    struct itimerspec its = {{0, 0}, {0, 20 * 1000 * 1000}};
    timer_settime(t, 0, &its, NULL);
    pfd.fd = bfd;
    printf("poll timer: %d\n", poll(&pfd, 1, 5000));
    readone(bfd, "timer");
    timer_delete(t);

    /* bad arguments */
    TRY("bad flags", signalfd(-1, &mask, 0x1234));
    TRY("not a signalfd", signalfd(ep, &mask, 0));
    TRY("bad fd", signalfd(1000, &mask, 0));
    TRY("bad size", syscall(SYS_signalfd4, -1, &mask, 4, 0));
    TRY("bad mask pointer", syscall(SYS_signalfd4, -1, (void *)8, 8, 0));
    close(fd);
    close(bfd);
    close(ep);
    return 0;
}
