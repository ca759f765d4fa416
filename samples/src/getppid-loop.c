/* N cheap system calls (default 200000): the cost of one trap into the emulator. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 200000;
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
    puts("done");
    return 0;
}
