/* Directories: create one, fill it, enumerate it with FindFirstFile/FindNextFile
 * (wildcards, case-insensitive), sort the names with qsort (a guest comparator
 * called back from the CRT), remove it (refused while not empty). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

static int by_name(const void *a, const void *b)
{
    return _stricmp((const char *)a, (const char *)b);
}

static void touch(const char *name, const char *text)
{
    DWORD n;
    HANDLE h = CreateFileA(name, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    WriteFile(h, text, (DWORD)strlen(text), &n, NULL);
    CloseHandle(h);
}

static void list(const char *pattern)
{
    WIN32_FIND_DATAA fd;
    char names[16][MAX_PATH];
    int n = 0, i;
    HANDLE h = FindFirstFileA(pattern, &fd);
    if (h == INVALID_HANDLE_VALUE) {
        printf("%s: nothing (error %lu)\n", pattern, GetLastError());
        return;
    }
    do {
        snprintf(names[n], MAX_PATH, "%s%s %lu", fd.cFileName,
                 fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY ? "\\" : "", fd.nFileSizeLow);
        n++;
    } while (n < 16 && FindNextFileA(h, &fd));
    printf("%s: %d, last error %lu\n", pattern, n, GetLastError());
    FindClose(h);
    qsort(names, n, MAX_PATH, by_name);
    for (i = 0; i < n; i++)
        printf("  %s\n", names[i]);
}

int main(void)
{
    BOOL ok;
    if (!CreateDirectoryA("sub", NULL))
        return 1;
    ok = CreateDirectoryA("sub", NULL);
    printf("again: %d error %lu\n", ok, GetLastError());
    touch("sub\\b.TXT", "bee");
    touch("sub\\a.txt", "a");
    touch("sub\\c.dat", "sea data");
    CreateDirectoryA("sub\\inner", NULL);
    printf("attributes: %#lx\n", GetFileAttributesA("SUB"));
    list("sub\\*");
    list("SUB\\*.txt");
    list("sub\\?.dat");
    list("sub\\*.none");
    ok = RemoveDirectoryA("sub");
    printf("rmdir non-empty: %d error %lu\n", ok, GetLastError());
    DeleteFileA("sub\\a.txt");
    DeleteFileA("sub\\B.txt");
    DeleteFileA("sub\\c.dat");
    RemoveDirectoryA("sub\\inner");
    printf("rmdir empty: %d\n", RemoveDirectoryA("sub"));
    return 0;
}
