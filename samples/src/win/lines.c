/* Numbers the lines of stdin (text mode: \r\n arrives as \n) and counts the bytes
 * that ReadFile then sees on the same handle (none: fgets buffered them all). */
#include <stdio.h>
#include <string.h>

int main(void)
{
    char line[256];
    int n = 0;
    size_t total = 0;
    while (fgets(line, sizeof line, stdin)) {
        n++;
        total += strlen(line);
        printf("%d: %s", n, line);
        if (line[strlen(line) - 1] != '\n')
            printf(" (no newline)\n");
    }
    printf("%d lines, %u chars, eof=%d\n", n, (unsigned)total, feof(stdin) != 0);
    return n;
}
