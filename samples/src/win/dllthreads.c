/* DLL_THREAD_ATTACH and DLL_THREAD_DETACH: a DLL loaded with LoadLibrary (thrlib)
 * and the program's own TLS callback hear of every thread that starts and ends
 * after it, in its own thread, until the DLL calls DisableThreadLibraryCalls. */
#include <stdio.h>
#include <windows.h>

#ifdef _WIN64
#define THRLIB "thrlib-x64.dll"
#else
#define THRLIB "thrlib-x86.dll"
#endif

static DWORD main_tid;
static const char *const reasons[] = {"process detach", "process attach", "thread attach", "thread detach"};

static void NTAPI on_tls(PVOID self, DWORD reason, PVOID reserved)
{
    if (reason == DLL_THREAD_ATTACH || reason == DLL_THREAD_DETACH)
        printf("exe TLS callback: %s, in the new thread: %d\n", reasons[reason],
               GetCurrentThreadId() != main_tid);
}
__attribute__((section(".CRT$XLB"), used)) PIMAGE_TLS_CALLBACK exe_tls_callback = on_tls;

static DWORD WINAPI worker(void *arg)
{
    printf("worker %d runs\n", (int)(INT_PTR)arg);
    return 0;
}

static void run_thread(int n)
{
    HANDLE t = CreateThread(NULL, 0, worker, (void *)(INT_PTR)n, 0, NULL);
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    main_tid = GetCurrentThreadId();
    run_thread(1);
    HMODULE lib = LoadLibraryA(THRLIB);
    if (!lib) {
        printf("LoadLibrary failed: %lu\n", GetLastError());
        return 1;
    }
    run_thread(2);
    BOOL (*quiet)(void) = (BOOL (*)(void))GetProcAddress(lib, "thrlib_quiet");
    BOOL ok = quiet();
    printf("DisableThreadLibraryCalls: %d, error %lu (it fails for a DLL with static TLS)\n", ok, ok ? 0 : GetLastError());
    run_thread(3);
    FreeLibrary(lib);
    printf("done\n");
    return 0;
}
