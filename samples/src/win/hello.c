/* The smallest console program: one line through printf, status 0. */
#include <stdio.h>

int main(void)
{
    printf("hello, world\n");
    return 0;
}
