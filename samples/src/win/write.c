/* Writes two lines to argv[1] in text mode (the CRT turns \n into \r\n), then,
 * if argv[2] is given, prints that file's bytes: the tests name it in another
 * letter case to show that lookup is case-insensitive, and use C:\ paths. */
#include <stdio.h>

int main(int argc, char **argv)
{
    FILE *f;
    int c;
    if (argc < 2)
        return 2;
    f = fopen(argv[1], "w");
    if (!f) {
        perror("fopen");
        return 1;
    }
    fprintf(f, "line %d\nline %d\n", 1, 2);
    fclose(f);
    if (argc > 2) {
        f = fopen(argv[2], "rb");
        if (!f) {
            printf("cannot open %s\n", argv[2]);
            return 3;
        }
        while ((c = fgetc(f)) != EOF)
            printf("%02x ", c);
        printf("\n");
        fclose(f);
    }
    return 0;
}
