/* A DLL that ships with usedll: exports functions, a variable, a function by
 * ordinal only (mylib.def: ordinal 7, no name) and three forwarders (to msvcrt,
 * to an API-set name, to mydep, another DLL of the program).  Its TLS callback
 * and DllMain say what the loader did and in which order. */
#include <stdio.h>
#include <windows.h>

#ifdef _WIN64
#define MYDEP "mydep-x64"
#else
#define MYDEP "mydep-x86"
#endif

/* forwarders: the export's address is another DLL's export, resolved by the loader */
__asm__(".section .drectve\n"
        ".ascii \" -export:mylib_strlen=msvcrt.strlen\"\n"
        ".ascii \" -export:mylib_pid=api-ms-win-core-processthreads-l1-1-0.GetCurrentProcessId\"\n"
        ".ascii \" -export:mylib_twice=" MYDEP ".mydep_twice\"\n"
        ".text");

__declspec(dllexport) int mylib_counter = 5;
static int tls_callbacks, tls_before_main;

__declspec(dllexport) int mylib_add(int a, int b) { return a + b; }
__declspec(dllexport) const char *mylib_name(void) { return "mylib"; }
__declspec(dllexport) int mylib_bump(void) { return ++mylib_counter; }
int mylib_secret(int x) { return x * 7; }            /* exported as ordinal 7 only */

static void NTAPI on_tls(PVOID self, DWORD reason, PVOID reserved)
{
    if (reason == DLL_PROCESS_ATTACH)
        tls_callbacks++;
}
__attribute__((section(".CRT$XLB"), used)) PIMAGE_TLS_CALLBACK mylib_tls_callback = on_tls;

BOOL WINAPI DllMain(HINSTANCE self, DWORD reason, LPVOID reserved)
{
    char path[MAX_PATH];
    if (reason == DLL_PROCESS_ATTACH) {
        tls_before_main = tls_callbacks;
        GetModuleFileNameA(self, path, sizeof path);
        printf("mylib: attach (%s), TLS callbacks before DllMain: %d, own name %s\n",
               reserved ? "static" : "dynamic", tls_before_main, strrchr(path, '\\') + 1);
    } else if (reason == DLL_PROCESS_DETACH) {
        printf("mylib: detach (%s), counter %d\n", reserved ? "process exit" : "FreeLibrary", mylib_counter);
    }
    fflush(stdout);
    return TRUE;
}
