#include <stdio.h>
int main(void) { puts("before"); fflush(stdout); volatile int *p = 0; *p = 1; puts("after"); return 0; }
