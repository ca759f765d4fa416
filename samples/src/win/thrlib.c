/* A DLL that says when the loader tells it about threads (DLL_THREAD_ATTACH and
 * DLL_THREAD_DETACH to its TLS callback and DllMain), until thrlib_quiet asks
 * for no more with DisableThreadLibraryCalls.  Loaded by dllthreads. */
#include <stdio.h>
#include <windows.h>

static HMODULE self_module;
static const char *const reasons[] = {"process detach", "process attach", "thread attach", "thread detach"};

static void NTAPI on_tls(PVOID self, DWORD reason, PVOID reserved)
{
    if (reason == DLL_THREAD_ATTACH || reason == DLL_THREAD_DETACH)
        printf("thrlib TLS callback: %s\n", reasons[reason]);
}
__attribute__((section(".CRT$XLB"), used)) PIMAGE_TLS_CALLBACK thrlib_tls_callback = on_tls;

BOOL WINAPI DllMain(HINSTANCE self, DWORD reason, LPVOID reserved)
{
    self_module = self;
    printf("thrlib DllMain: %s\n", reasons[reason]);
    return TRUE;
}

__declspec(dllexport) BOOL thrlib_quiet(void)
{
    return DisableThreadLibraryCalls(self_module);
}
