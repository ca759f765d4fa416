/* __thread variables of the main program: initialised, zeroed, distinct from globals. */
#include <stdio.h>

__thread int tls_init = 42;
__thread long tls_zero;
__thread char tls_buf[64] = "tls string";
int global = 7;

int main(void) {
    printf("distinct %s\n", (void *)&tls_init != (void *)&global ? "yes" : "no");
    printf("init %d zero %ld buf %s\n", tls_init, tls_zero, tls_buf);
    for (int i = 0; i < 1000; i++) { tls_init += i; tls_zero -= i; }
    tls_buf[0] = 'T';
    printf("after %d %ld %s\n", tls_init, tls_zero, tls_buf);
    return 0;
}
