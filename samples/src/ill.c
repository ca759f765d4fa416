#include <stdio.h>
int main(void) { puts("before"); fflush(stdout); __asm__ volatile("ud2"); return 0; }
