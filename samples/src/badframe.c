/* Corrupted sigreturn frames end the process with SIGSEGV, as on Linux.  argv[1] picks how:
   garbage  - a SIGUSR1 handler overwrites its whole ucontext with 0xff bytes and returns (default)
   fpstate  - the handler points uc_mcontext.fpregs at an unmapped page and returns
   badsp    - rt_sigreturn called directly with the stack pointer at an unmapped address
   legacy   - the same with i386's old sigreturn (on x86-64, like badsp) */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

static const char *mode = "garbage";

static void handler(int sig, siginfo_t *si, void *ctx) {
    (void)sig; (void)si;
    ucontext_t *uc = ctx;
    if (strcmp(mode, "fpstate") == 0)
        uc->uc_mcontext.fpregs = (void *)8;
    else
        memset(uc, 0xff, sizeof *uc);
}

static void sigreturn_with_bad_stack(int legacy) {
#if defined(__x86_64__)
    (void)legacy;
    __asm__ volatile("mov $0x10, %%rsp\n\tmov $15, %%eax\n\tsyscall" ::: "memory");
#else
    if (legacy)
        __asm__ volatile("mov $0x10, %%esp\n\tmov $119, %%eax\n\tint $0x80" ::: "memory");
    else
        __asm__ volatile("mov $0x10, %%esp\n\tmov $173, %%eax\n\tint $0x80" ::: "memory");
#endif
}

int main(int argc, char **argv) {
    if (argc > 1) mode = argv[1];
    printf("mode %s\n", mode);
    fflush(stdout);
    if (strcmp(mode, "badsp") == 0 || strcmp(mode, "legacy") == 0) {
        sigreturn_with_bad_stack(strcmp(mode, "legacy") == 0);
    } else {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_flags = SA_SIGINFO;
        sa.sa_sigaction = handler;
        sigaction(SIGUSR1, &sa, NULL);
        raise(SIGUSR1);
    }
    puts("survived a corrupted sigreturn");
    return 0;
}
