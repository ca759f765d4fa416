/* user32's case mapping and character classes: CharUpper/CharLower (A and W, on a
 * string in place and on one character passed in the pointer's low word),
 * CharUpperBuff/CharLowerBuff, IsCharUpper/IsCharLower/IsCharAlpha/IsCharAlphaNumeric.
 * The ANSI forms work in code page 1252: e.g. 0xE9 (e acute) uppercases to 0xC9 and
 * 0xFF (y diaeresis) to 0x9F. */
#include <windows.h>
#include <stdio.h>

static void ranges(const char *what, BOOL (WINAPI *test)(CHAR))
{
    printf("%s:", what);
    int start = -1;
    for (int b = 0x20; b <= 0x100; b++) {
        int yes = b < 0x100 && test((CHAR)b);
        if (yes && start < 0)
            start = b;
        if (!yes && start >= 0) {
            printf(" %02X-%02X", start, b - 1);
            start = -1;
        }
    }
    printf("\n");
}

static void changed(const char *what, int upper)
{
    printf("%s:", what);
    for (int b = 0x20; b < 0x100; b++) {
        ULONG_PTR r = (ULONG_PTR)(upper ? CharUpperA((LPSTR)(ULONG_PTR)b) : CharLowerA((LPSTR)(ULONG_PTR)b));
        if (r != (ULONG_PTR)b)
            printf(" %02X>%02X", b, (unsigned)r);
    }
    printf("\n");
}

static void wide(const char *what, const WCHAR *w)
{
    printf("%s:", what);
    for (; *w; w++)
        printf(" %04X", *w);
    printf("\n");
}

int main(void)
{
    ranges("IsCharUpperA", IsCharUpperA);
    ranges("IsCharLowerA", IsCharLowerA);
    ranges("IsCharAlphaA", IsCharAlphaA);
    ranges("IsCharAlphaNumericA", IsCharAlphaNumericA);
    changed("CharUpperA one char", 1);
    changed("CharLowerA one char", 0);

    char s[] = "Hello, W\xf6rld \xe9t\xe9 \xff!";
    char *r = CharUpperA(s);
    printf("CharUpperA: %s (returns its argument: %s)\n", s, r == s ? "yes" : "no");
    r = CharLowerA(s);
    printf("CharLowerA: %s (returns its argument: %s)\n", s, r == s ? "yes" : "no");
    char b[] = "abcdef";
    printf("CharUpperBuffA(3) = %lu: %s\n", CharUpperBuffA(b, 3), b);
    printf("CharLowerBuffA(5) = %lu: %s\n", CharLowerBuffA(b, 5), b);

    WCHAR w[] = L"stra\x00df" L"e \x03b1\x03b2 \x0436\x0401 \xfb00 i";
    CharUpperW(w);
    wide("CharUpperW", w);
    CharLowerW(w);
    wide("CharLowerW", w);
    WCHAR wb[] = L"ABCdef";
    printf("CharLowerBuffW(4) = %lu\n", CharLowerBuffW(wb, 4));
    wide("after", wb);
    printf("CharUpperW one char: %04X %04X %04X\n", (unsigned)(ULONG_PTR)CharUpperW((LPWSTR)(ULONG_PTR)0x3b1),
           (unsigned)(ULONG_PTR)CharUpperW((LPWSTR)(ULONG_PTR)0xdf), (unsigned)(ULONG_PTR)CharLowerW((LPWSTR)(ULONG_PTR)0x130));
    const WCHAR probe[] = {'A', 'a', '1', 0xdf, 0x3a3, 0x3c3, 0xaa, 0x2c6, 0x416, 0x436, 0x660, '_', ' ', 0};
    printf("IsCharUpperW/IsCharLowerW/IsCharAlphaW/IsCharAlphaNumericW:");
    for (const WCHAR *p = probe; *p; p++)
        printf(" %04X=%d%d%d%d", *p, IsCharUpperW(*p), IsCharLowerW(*p), IsCharAlphaW(*p), IsCharAlphaNumericW(*p));
    printf("\n");
    return 0;
}
