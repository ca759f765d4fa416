/* Walking ANSI strings one character at a time in several code pages:
 * CharNextExA / CharPrevExA / CharNextA / CharPrevA and IsDBCSLeadByteEx.
 * Double-byte code pages (932 Shift-JIS, 936, 949, 950) take a lead byte and
 * the byte after it as one character; a lead byte just before the NUL stands
 * alone; the NUL is never stepped over. */
#include <windows.h>
#include <stdio.h>
#include <string.h>

static void walk(WORD cp, const char *s)
{
    printf("cp %u forward:", cp);
    const char *p = s;
    for (int n = 0; n < 40; n++) {
        const char *q = CharNextExA(cp, p, 0);
        printf(" %d", (int)(q - s));
        if (q == p)
            break;
        p = q;
    }
    printf("\ncp %u backward:", cp);
    p = s + strlen(s);
    for (int n = 0; n < 40 && p > s; n++) {
        p = CharPrevExA(cp, s, p, 0);
        printf(" %d", (int)(p - s));
    }
    printf("\n");
}

static void lead_ranges(WORD cp)
{
    printf("cp %u lead bytes:", cp);
    int start = -1;
    for (int b = 0; b <= 256; b++) {
        int lead = b < 256 && IsDBCSLeadByteEx(cp, (BYTE)b);
        if (lead && start < 0)
            start = b;
        if (!lead && start >= 0) {
            printf(" %02X-%02X", start, b - 1);
            start = -1;
        }
    }
    printf("\n");
}

int main(void)
{
    /* "a", a two-byte character, "b", a lone trail-range byte, a lead byte at the end */
    const char *mixed = "a\x82\xa0" "b\x41\x93\xfa" "c\x81";
    const WORD cps[] = {1252, 932, 936, 949, 950, CP_ACP, CP_OEMCP};
    for (unsigned i = 0; i < sizeof cps / sizeof cps[0]; i++) {
        walk(cps[i], mixed);
        lead_ranges(cps[i]);
    }
    const char *e = "";
    printf("at the NUL: CharNextA moves %d, CharPrevA(s, s) moves %d\n",
           (int)(CharNextA(e) - e), (int)(CharPrevA(mixed, mixed) - mixed));
    printf("CharNextA walks \"%s\":", "ab\xe9");
    for (const char *p = "ab\xe9"; *p; p = CharNextA(p))
        printf(" %c", *p >= 0x20 && *p < 0x7f ? *p : '?');
    printf("\nCharPrevExA past the start: %d\n", (int)(CharPrevExA(932, mixed + 3, mixed + 1, 0) - mixed));
    return 0;
}
