#include <stdio.h>
int main(void) { puts("before"); fflush(stdout); volatile int z = 0; printf("%d\n", 10 / z); return 0; }
