/* Exit statuses: from main's return, exit(), ExitProcess, chosen by argv[1]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

static void bye(void) { printf("atexit handler ran\n"); }

int main(int argc, char **argv)
{
    atexit(bye);
    printf("mode %s\n", argc > 1 ? argv[1] : "return");
    fflush(stdout);
    if (argc > 1 && strcmp(argv[1], "exit") == 0)
        exit(7);
    if (argc > 1 && strcmp(argv[1], "ExitProcess") == 0)
        ExitProcess(9);
    return 3;
}
