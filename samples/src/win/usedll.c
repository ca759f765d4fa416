/* A program with its own DLLs (mylib, mydep: built here too, shipped next to it):
 * mylib through the import table (functions and a variable), both through
 * LoadLibrary/GetProcAddress (by name, by ordinal, forwarded exports), mydep
 * through a delay-load import as well (mingw's __delayLoadHelper2), FreeLibrary,
 * GetModuleHandle/GetModuleFileName, the failures, and the PEB's loader lists.
 * `usedll load NAME` loads one more DLL and calls its mylib_name, if it has one. */
#include <stdio.h>
#include <string.h>
#include <windows.h>

#ifdef _WIN64
#define SUFFIX "x64"
#else
#define SUFFIX "x86"
#endif
#define MYLIB "mylib-" SUFFIX ".dll"
#define MYDEP "mydep-" SUFFIX ".dll"

__declspec(dllimport) int mylib_add(int a, int b);
__declspec(dllimport) const char *mylib_name(void);
__declspec(dllimport) int mylib_bump(void);
__declspec(dllimport) int mylib_counter;
int mydep_twice(int x);                 /* delay-loaded (see the Makefile) */

typedef int (*int_fn)(int);
typedef size_t (*strlen_fn)(const char *);
typedef DWORD (WINAPI *pid_fn)(void);

struct ustr { USHORT length, max; wchar_t *buffer; };
/* LDR_DATA_TABLE_ENTRY as far as the three links and BaseDllName */
struct entry {
    LIST_ENTRY load, memory, init;
    void *base, *entry;
    ULONG size;
    struct ustr full, name;
};

static int in_list(LIST_ENTRY *head, int which, const wchar_t *want)
{
    int pos = 0;
    for (LIST_ENTRY *l = head->Flink; l != head; l = l->Flink, pos++) {
        struct entry *e = (struct entry *)((char *)l - which * sizeof(LIST_ENTRY));
        if (e->name.buffer && !_wcsicmp(e->name.buffer, want))
            return pos;
    }
    return -1;
}

static void loader_lists(void)
{
#ifdef _WIN64
    char *peb = (char *)__readgsqword(0x60);
    char *ldr = *(char **)(peb + 0x18);
    LIST_ENTRY *lists = (LIST_ENTRY *)(ldr + 0x10);
#else
    char *peb = (char *)__readfsdword(0x30);
    char *ldr = *(char **)(peb + 0xC);
    LIST_ENTRY *lists = (LIST_ENTRY *)(ldr + 0xC);
#endif
    static const char *names[] = {"load order", "memory order", "initialization order"};
    for (int k = 0; k < 3; k++) {
        int lib = in_list(&lists[k], k, L"" MYLIB), dep = in_list(&lists[k], k, L"" MYDEP);
        printf("%s: mylib %s, mydep %s\n", names[k], lib >= 0 ? "listed" : "missing",
               dep >= 0 ? "listed" : "missing");
    }
    /* the program itself comes first in load order */
    struct entry *first = (struct entry *)lists[0].Flink;
    printf("first in load order is the program: %s\n",
           first->base == GetModuleHandleA(NULL) ? "yes" : "no");
}

static int load_one(const char *name)
{
    SetLastError(0);
    HMODULE h = LoadLibraryA(name);
    DWORD err = GetLastError();
    if (h)                  /* a success leaves the last error as DllMain left it */
        printf("LoadLibrary(%s): loaded\n", name);
    else
        printf("LoadLibrary(%s): failed, error %lu\n", name, err);
    if (h) {
        const char *(*fn)(void) = (const char *(*)(void))GetProcAddress(h, "mylib_name");
        printf("same module as mylib: %s, mylib_name: %s\n", h == GetModuleHandleA(MYLIB) ? "yes" : "no",
               fn ? fn() : "(none)");
    }
    return h == NULL;
}

int main(int argc, char **argv)
{
    char path[MAX_PATH];

    if (argc > 2 && !strcmp(argv[1], "load"))
        return load_one(argv[2]);

    printf("import table: mylib_add(2, 3) = %d, name %s, counter %d\n",
           mylib_add(2, 3), mylib_name(), mylib_counter);
    mylib_bump();
    printf("after bump: counter %d\n", mylib_counter);

    HMODULE lib = LoadLibraryA(MYLIB);
    printf("LoadLibrary(mylib) is the loaded module: %s\n", lib == GetModuleHandleA(MYLIB) ? "yes" : "no");
    printf("GetModuleHandle without .dll: %s\n", GetModuleHandleA("mylib-" SUFFIX) == lib ? "yes" : "no");
    printf("GetModuleHandleW: %s\n", GetModuleHandleW(L"" MYLIB) == lib ? "yes" : "no");
    DWORD n = GetModuleFileNameA(lib, path, sizeof path);
    printf("file name: %s (%s)\n", strrchr(path, '\\') + 1, n == strlen(path) ? "length ok" : "bad length");
    int (*add)(int, int) = (int (*)(int, int))GetProcAddress(lib, "mylib_add");
    printf("by name: %s, add(40, 2) = %d\n", add == mylib_add ? "same as import" : "different", add(40, 2));
    int_fn secret = (int_fn)GetProcAddress(lib, MAKEINTRESOURCEA(7));
    printf("by ordinal 7: %d\n", secret ? secret(6) : -1);
    int *counter = (int *)GetProcAddress(lib, "mylib_counter");
    printf("variable: %s\n", counter == &mylib_counter ? "same address" : "different");
    strlen_fn slen = (strlen_fn)GetProcAddress(lib, "mylib_strlen");
    printf("forwarded to msvcrt: strlen(\"forward\") = %d\n", slen ? (int)slen("forward") : -1);
    pid_fn pid = (pid_fn)GetProcAddress(lib, "mylib_pid");
    printf("forwarded to an API set: %s\n", pid && pid() == GetCurrentProcessId() ? "same pid" : "wrong");

    SetLastError(0);
    FARPROC none = GetProcAddress(lib, "no_such_export");
    DWORD err = GetLastError();
    printf("missing export: %p, error %lu\n", (void *)none, err);
    SetLastError(0);
    HMODULE nolib = LoadLibraryA("no-such-library.dll");
    err = GetLastError();
    printf("missing DLL: %p, error %lu\n", (void *)nolib, err);
    printf("mydep before loading: %s\n", GetModuleHandleA(MYDEP) ? "loaded" : "not loaded");
    fflush(stdout);

    HMODULE dep = LoadLibraryA(MYDEP);
    int_fn twice = (int_fn)GetProcAddress(dep, "mydep_twice");
    int_fn fwd = (int_fn)GetProcAddress(lib, "mylib_twice");
    printf("mydep_twice(21) = %d, forwarded from mylib: %s\n", twice(21), fwd == twice ? "same" : "different");
    loader_lists();
    fflush(stdout);
    printf("FreeLibrary: %d\n", FreeLibrary(dep));
    printf("mydep after FreeLibrary: %s\n", GetModuleHandleA(MYDEP) ? "loaded" : "not loaded");
    printf("FreeLibrary(mylib) once: %d, still loaded: %s\n", FreeLibrary(lib),
           GetModuleHandleA(MYLIB) ? "yes" : "no");
    fflush(stdout);

    printf("delay-loaded mydep_twice(5) = %d\n", mydep_twice(5));
    printf("mydep after the delay load: %s\n", GetModuleHandleA(MYDEP) ? "loaded" : "not loaded");
    return 0;
}
