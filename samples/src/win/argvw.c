/* shell32's CommandLineToArgvW on the program's own command line and on lines
 * that exercise the quoting rules: backslashes before quotes, doubled quotes
 * inside quotes, a program name with quotes, leading blanks, an empty line
 * (which gives the program's path).  The result is one LocalAlloc block. */
#include <windows.h>
#include <shellapi.h>
#include <stdio.h>

static void show(const WCHAR *line)
{
    int n = -1;
    LPWSTR *argv = CommandLineToArgvW(line, &n);
    if (argv == NULL) {
        printf("NULL, error %lu\n", GetLastError());
        return;
    }
    printf("%d:", n);
    for (int i = 0; i < n; i++)
        wprintf(L" [%ls]", argv[i]);
    printf(" %s\n", argv[n] == NULL ? "(NULL-terminated)" : "(not terminated)");
    printf("LocalFree: %s\n", LocalFree(argv) == NULL ? "ok" : "failed");
}

int main(void)
{
    show(GetCommandLineW());
    show(L"prog.exe a b\tc");
    show(L"\"C:\\Program Files\\x.exe\" \"two words\" plain");
    show(L"x a\\\\\\\"b c\\\\\"d e\\\\f \\\"g");
    show(L"x \"a\"\"b\" \"\"\"\" \"c\"\"\"");
    show(L"\"pro\"g\"ram a");
    show(L"   leading blanks");
    show(L"x trailing\\");
    show(L"x \"unterminated quote");
    int n = 0;
    LPWSTR *self = CommandLineToArgvW(L"", &n);
    wchar_t path[MAX_PATH];
    GetModuleFileNameW(NULL, path, MAX_PATH);
    printf("empty line: %d, the program's path: %s\n", n, self && lstrcmpiW(self[0], path) == 0 ? "yes" : "no");
    LocalFree(self);
    SetLastError(0);
    LPWSTR *none = CommandLineToArgvW(L"a b", NULL);
    DWORD error = GetLastError();
    printf("NULL count: %s, error %lu\n", none ? "not NULL" : "NULL", error);
    return 0;
}
