/* argv and environment reach the guest exactly: quoting, empty args, '=' in values. */
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++) printf("argv[%d]=\"%s\"\n", i, argv[i]);
    const char *a = getenv("GUISE_A"), *b = getenv("GUISE_B");
    printf("GUISE_A=%s\nGUISE_B=%s\n", a ? a : "(unset)", b ? b : "(unset)");
    return argc;
}
