/* Bad pointers given to the signal and message calls fail with EFAULT, as on Linux, and
   in Linux's order: rt_sigaction and sigaltstack install the new setting before they
   fail to write the old one out.  Raw system calls: the libc wrappers would fault first. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define BAD ((void *)16)
#define TRY(label, call) do { errno = 0; long r_ = (long)(call); int e_ = errno; \
    printf("%-40s %ld %s\n", label, r_, r_ < 0 ? strerror(e_) : "ok"); } while (0)

static void handler(int sig) { (void)sig; }

/* the kernel's struct sigaction for rt_sigaction (not the libc's) */
struct ksigaction { void *handler; unsigned long flags; void *restorer; unsigned long long mask; };

static int pair(int type, int sv[2]) { return socketpair(AF_UNIX, type, 0, sv); }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct ksigaction ka, kold;
    memset(&ka, 0, sizeof ka);
    ka.handler = (void *)handler;
    TRY("rt_sigaction bad act", syscall(SYS_rt_sigaction, SIGUSR1, BAD, NULL, 8));
    TRY("rt_sigaction bad oldact", syscall(SYS_rt_sigaction, SIGUSR1, &ka, BAD, 8));
    syscall(SYS_rt_sigaction, SIGUSR1, NULL, &kold, 8);
    printf("%-40s %s\n", "  ...the new action was installed", kold.handler == (void *)handler ? "yes" : "no");
    TRY("rt_sigaction act at the end of memory", syscall(SYS_rt_sigaction, SIGUSR1, (void *)-8L, NULL, 8));
    TRY("rt_sigprocmask bad set", syscall(SYS_rt_sigprocmask, SIG_BLOCK, BAD, NULL, 8));
    TRY("rt_sigprocmask bad oldset", syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, BAD, 8));
    TRY("rt_sigpending bad set", syscall(SYS_rt_sigpending, BAD, 8));
    TRY("rt_sigsuspend bad mask", syscall(SYS_rt_sigsuspend, BAD, 8));
    TRY("rt_sigtimedwait bad set", syscall(SYS_rt_sigtimedwait, BAD, NULL, NULL, 8));
    TRY("rt_sigqueueinfo bad info", syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, BAD));

    static char altstack[65536];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0}, cur;
    TRY("sigaltstack bad ss", syscall(SYS_sigaltstack, BAD, NULL));
    TRY("sigaltstack bad old_ss", syscall(SYS_sigaltstack, &ss, BAD));
    syscall(SYS_sigaltstack, NULL, &cur);
    printf("%-40s %s\n", "  ...the new stack was set", cur.ss_sp == altstack && cur.ss_size == sizeof altstack ? "yes" : "no");

    int sv[2];
    char data[] = "hello";
    struct iovec iov = {data, sizeof data};
    struct msghdr m;
    pair(SOCK_DGRAM, sv);
    TRY("sendmsg bad msghdr", syscall(SYS_sendmsg, sv[0], BAD, 0));
    memset(&m, 0, sizeof m);
    m.msg_iov = BAD;
    m.msg_iovlen = 1;
    TRY("sendmsg bad iovec array", syscall(SYS_sendmsg, sv[0], &m, 0));
    struct iovec badiov = {BAD, 5};
    m.msg_iov = &badiov;
    TRY("sendmsg bad iov_base", syscall(SYS_sendmsg, sv[0], &m, 0));
    m.msg_iov = &iov;
    m.msg_control = BAD;
    m.msg_controllen = 64;
    TRY("sendmsg bad msg_control", syscall(SYS_sendmsg, sv[0], &m, 0));
    m.msg_control = NULL;
    m.msg_controllen = 0;
    m.msg_name = BAD;
    m.msg_namelen = 16;
    TRY("sendmsg bad msg_name", syscall(SYS_sendmsg, sv[0], &m, 0));
    m.msg_name = NULL;
    m.msg_namelen = 0;
    TRY("sendmsg good", syscall(SYS_sendmsg, sv[0], &m, 0));
    TRY("sendmsg good again", syscall(SYS_sendmsg, sv[0], &m, 0));

    char in[16];
    struct iovec iniov = {in, sizeof in};
    TRY("recvmsg bad msghdr", syscall(SYS_recvmsg, sv[1], BAD, 0));
    memset(&m, 0, sizeof m);
    m.msg_iov = BAD;
    m.msg_iovlen = 1;
    TRY("recvmsg bad iovec array", syscall(SYS_recvmsg, sv[1], &m, 0));
    m.msg_iov = &badiov;
    TRY("recvmsg bad iov_base", syscall(SYS_recvmsg, sv[1], &m, 0));
    m.msg_iov = &iniov;
    memset(in, 0, sizeof in);
    TRY("recvmsg the next datagram", syscall(SYS_recvmsg, sv[1], &m, 0));
    printf("%-40s %s\n", "  ...got", in);
    close(sv[0]);
    close(sv[1]);
    return 0;
}
