/* A second DLL for usedll: loaded only at run time (LoadLibrary, then again
 * through the delay-load import), and itself importing mylib, already loaded,
 * through its own import table.  Says when it is attached and detached. */
#include <stdio.h>
#include <windows.h>

#ifdef _WIN64
#define MYLIB_DLL "mylib-x64.dll"
#else
#define MYLIB_DLL "mylib-x86.dll"
#endif

__declspec(dllimport) int mylib_add(int a, int b);

__declspec(dllexport) int mydep_twice(int x)
{
    return mylib_add(x, x);
}

BOOL WINAPI DllMain(HINSTANCE self, DWORD reason, LPVOID reserved)
{
    if (reason == DLL_PROCESS_ATTACH)
        printf("mydep: attach (%s), mylib loaded: %s\n", reserved ? "static" : "dynamic",
               GetModuleHandleA(MYLIB_DLL) ? "yes" : "no");
    else if (reason == DLL_PROCESS_DETACH)
        printf("mydep: detach (%s)\n", reserved ? "process exit" : "FreeLibrary");
    fflush(stdout);
    return TRUE;
}
