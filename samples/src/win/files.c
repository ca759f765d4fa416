/* Files through both layers: the CRT (fopen/fprintf/fgets) and kernel32
 * (CreateFile/WriteFile/ReadFile/SetFilePointer/GetFileSize/DeleteFile). */
#include <stdio.h>
#include <string.h>
#include <windows.h>

static int k32(const char *name)
{
    char buf[64];
    DWORD n = 0, size;
    HANDLE h = CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        printf("CreateFileA failed: %lu\n", GetLastError());
        return 1;
    }
    if (!WriteFile(h, "kernel32 line\r\n", 15, &n, NULL) || n != 15)
        return 2;
    size = GetFileSize(h, NULL);
    printf("size after write: %lu\n", size);
    if (SetFilePointer(h, 9, NULL, FILE_BEGIN) != 9)
        return 3;
    memset(buf, 0, sizeof buf);
    if (!ReadFile(h, buf, sizeof buf - 1, &n, NULL))
        return 4;
    printf("read %lu bytes from offset 9: [%.4s]\n", n, buf);
    CloseHandle(h);
    h = CreateFileA(name, GENERIC_READ, 0, NULL, CREATE_NEW, 0, NULL);
    printf("CREATE_NEW on existing: %s, error %lu\n", h == INVALID_HANDLE_VALUE ? "fails" : "opens",
           GetLastError());
    if (!DeleteFileA(name))
        return 5;
    h = CreateFileA(name, GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL);
    printf("after delete: %s, error %lu\n", h == INVALID_HANDLE_VALUE ? "gone" : "still there",
           GetLastError());
    return 0;
}

static int crt(const char *name)
{
    char line[128];
    FILE *f = fopen(name, "w");
    int lines = 0;
    if (!f)
        return 10;
    fprintf(f, "first %d\n", 1);
    fputs("second line\n", f);
    fclose(f);
    f = fopen(name, "rb");
    if (!f)
        return 11;
    fseek(f, 0, SEEK_END);
    printf("binary size of text-mode file: %ld\n", ftell(f));
    fclose(f);
    f = fopen(name, "r");
    while (fgets(line, sizeof line, f)) {
        lines++;
        printf("line %d: %s", lines, line);
    }
    fclose(f);
    return remove(name) == 0 ? 0 : 12;
}

int main(int argc, char **argv)
{
    int r;
    const char *a = argc > 1 ? argv[1] : "guise-k32.txt";
    const char *b = argc > 2 ? argv[2] : "guise-crt.txt";
    if ((r = k32(a)) != 0)
        return r;
    if ((r = crt(b)) != 0)
        return r;
    printf("done\n");
    return 0;
}
