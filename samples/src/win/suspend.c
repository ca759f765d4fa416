/* SuspendThread and ResumeThread with Windows' suspend counts, and the context of
 * a suspended thread: a worker counts in a loop; suspended, its count stands still;
 * GetThreadContext shows it at the counting loop, and SetThreadContext moves it to
 * another function, which it runs once resumed.  A thread can suspend itself. */
#include <stdio.h>
#include <windows.h>

static volatile LONG counter, stop;
static volatile int moved;

static DWORD WINAPI counting(void *arg)
{
    while (!stop)
        InterlockedIncrement(&counter);
    return 1;
}

static void landing(void)
{
    moved = 1;
    ExitThread(42);
}

static DWORD WINAPI self_suspending(void *arg)
{
    printf("self: suspending\n");
    DWORD prev = SuspendThread(GetCurrentThread());
    printf("self: resumed, SuspendThread returned %lu\n", prev);
    return 2;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    HANDLE t = CreateThread(NULL, 0, counting, NULL, 0, NULL);
    while (counter < 1000)
        Sleep(1);
    printf("SuspendThread: %lu\n", SuspendThread(t));
    printf("SuspendThread: %lu\n", SuspendThread(t));
    LONG a = counter;
    Sleep(100);
    LONG b = counter;
    printf("suspended count stands still: %d\n", a == b);
    printf("ResumeThread: %lu\n", ResumeThread(t));
    Sleep(100);
    printf("still suspended once: %d\n", counter == b);
    printf("ResumeThread: %lu\n", ResumeThread(t));
    while (counter == b)
        Sleep(1);
    printf("running again\n");
    printf("ResumeThread of a running thread: %lu\n", ResumeThread(t));

    /* where a suspended thread is, and a new place for it to go on */
    SuspendThread(t);
    CONTEXT ctx = {0};
    ctx.ContextFlags = CONTEXT_FULL;
    printf("GetThreadContext: %d\n", GetThreadContext(t, &ctx));
#ifdef _WIN64
    DWORD_PTR pc = ctx.Rip, sp = ctx.Rsp;
#else
    DWORD_PTR pc = ctx.Eip, sp = ctx.Esp;
#endif
    printf("pc in the counting function: %d\n", pc >= (DWORD_PTR)counting && pc < (DWORD_PTR)counting + 64);
    printf("stack pointer 16-byte aligned minus a return address: %d\n", sizeof(void *) == 4 || (sp & 15) == 0 || (sp & 15) == 8);
#ifdef _WIN64
    ctx.Rip = (DWORD_PTR)landing;
    ctx.Rsp = (ctx.Rsp & ~(DWORD_PTR)15) - 8;
#else
    ctx.Eip = (DWORD_PTR)landing;
#endif
    printf("SetThreadContext: %d\n", SetThreadContext(t, &ctx));
    ResumeThread(t);
    WaitForSingleObject(t, INFINITE);
    DWORD code;
    GetExitCodeThread(t, &code);
    printf("moved: %d, exit code %lu\n", moved, code);
    SetLastError(0);
    LONG r = SuspendThread(t);
    printf("SuspendThread of an ended thread: %ld, error %lu\n", r, GetLastError());

    HANDLE s = CreateThread(NULL, 0, self_suspending, NULL, 0, NULL);
    while (ResumeThread(s) == 0)     /* 1 once it has suspended itself */
        Sleep(1);
    WaitForSingleObject(s, INFINITE);

    HANDLE c = CreateThread(NULL, 0, counting, NULL, CREATE_SUSPENDED, NULL);
    printf("created suspended: SuspendThread %lu\n", SuspendThread(c));
    DWORD n = 0;
    while (SuspendThread(c) != (DWORD)-1)
        n++;
    printf("suspend count limit after %lu more, error %lu\n", n, GetLastError());
    r = SuspendThread(NULL);
    printf("bad handle: %ld, error %lu\n", r, GetLastError());
    return 0;
}
