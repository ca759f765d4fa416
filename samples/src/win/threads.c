/* Threads and every kernel32 synchronisation primitive, with output that does not
 * depend on scheduling: workers report through shared variables and the main
 * thread prints after it has waited for them.  Sections:
 * threads (CreateThread, suspended start, _beginthreadex/_endthreadex, ExitThread,
 * exit codes, ids), critical sections, mutexes (recursive, not owner, abandoned),
 * events (manual/auto reset), semaphores, WaitForMultipleObjects (any/all/timeout),
 * SRW locks, condition variables (CS and SRW), Interlocked, TLS and FLS slots,
 * InitOnceExecuteOnce.  With an argument: the ways a threaded process ends (see ending). */
#include <stdio.h>
#include <string.h>
#include <process.h>
#include <windows.h>

#define N 4
#define LOOPS 20000

static CRITICAL_SECTION cs;
static SRWLOCK srw = SRWLOCK_INIT;
static volatile LONG counter, plain_counter;
static DWORD tls_index, fls_index;
static volatile LONG fls_freed;

static DWORD WINAPI exit_with_arg(LPVOID arg) { return (DWORD)(ULONG_PTR)arg; }

static DWORD WINAPI call_exit_thread(LPVOID arg)
{
    ExitThread(40 + (DWORD)(ULONG_PTR)arg);
    return 0;
}

static unsigned __stdcall crt_thread(void *arg)
{
    _endthreadex(50 + (unsigned)(ULONG_PTR)arg);
    return 0;
}

static void section(const char *name) { printf("-- %s\n", name); }

static void threads(void)
{
    DWORD r1, r2, r3;
    DWORD code = 0, tid = 0;
    HANDLE h = CreateThread(NULL, 0, exit_with_arg, (LPVOID)7, 0, &tid);
    section("threads");
    printf("created: %d, id differs from main: %d\n", h != NULL, tid != GetCurrentThreadId());
    printf("wait: %lu\n", WaitForSingleObject(h, INFINITE));
    GetExitCodeThread(h, &code);
    printf("exit code from return: %lu\n", code);
    printf("wait again (signalled for good): %lu\n", WaitForSingleObject(h, 0));
    CloseHandle(h);

    h = CreateThread(NULL, 0, exit_with_arg, (LPVOID)8, CREATE_SUSPENDED, NULL);
    GetExitCodeThread(h, &code);
    r1 = WaitForSingleObject(h, 0);
    printf("suspended: still active %d, wait 0 -> %#lx\n", code == STILL_ACTIVE, r1);
    printf("resume -> previous count %lu\n", ResumeThread(h));
    WaitForSingleObject(h, INFINITE);
    GetExitCodeThread(h, &code);
    printf("after resume: %lu\n", code);
    CloseHandle(h);

    h = CreateThread(NULL, 0, call_exit_thread, (LPVOID)2, 0, NULL);
    WaitForSingleObject(h, INFINITE);
    GetExitCodeThread(h, &code);
    printf("ExitThread: %lu\n", code);
    CloseHandle(h);

    h = (HANDLE)_beginthreadex(NULL, 0, crt_thread, (void *)3, 0, NULL);
    WaitForSingleObject(h, INFINITE);
    GetExitCodeThread(h, &code);
    printf("_endthreadex: %lu\n", code);
    CloseHandle(h);
    Sleep(1);
    SwitchToThread();
}

static DWORD WINAPI cs_worker(LPVOID arg)
{
    for (int i = 0; i < LOOPS; i++) {
        EnterCriticalSection(&cs);
        EnterCriticalSection(&cs);            /* recursion */
        plain_counter++;
        LeaveCriticalSection(&cs);
        LeaveCriticalSection(&cs);
    }
    return 0;
}

static DWORD WINAPI try_enter(LPVOID arg)
{
    BOOL got = TryEnterCriticalSection(&cs);
    if (got)
        LeaveCriticalSection(&cs);
    return got;
}

static void critical_sections(void)
{
    HANDLE hs[N];
    DWORD code;
    section("critical sections");
    InitializeCriticalSectionAndSpinCount(&cs, 100);
    plain_counter = 0;
    for (int i = 0; i < N; i++)
        hs[i] = CreateThread(NULL, 0, cs_worker, NULL, 0, NULL);
    WaitForMultipleObjects(N, hs, TRUE, INFINITE);
    printf("counter: %ld (expected %d)\n", plain_counter, N * LOOPS);
    for (int i = 0; i < N; i++)
        CloseHandle(hs[i]);
    EnterCriticalSection(&cs);
    hs[0] = CreateThread(NULL, 0, try_enter, NULL, 0, NULL);
    WaitForSingleObject(hs[0], INFINITE);
    GetExitCodeThread(hs[0], &code);
    printf("TryEnter from another thread while held: %lu\n", code);
    CloseHandle(hs[0]);
    printf("TryEnter by the owner: %d\n", TryEnterCriticalSection(&cs));
    LeaveCriticalSection(&cs);
    LeaveCriticalSection(&cs);
    hs[0] = CreateThread(NULL, 0, try_enter, NULL, 0, NULL);
    WaitForSingleObject(hs[0], INFINITE);
    GetExitCodeThread(hs[0], &code);
    printf("TryEnter from another thread when free: %lu\n", code);
    CloseHandle(hs[0]);
    DeleteCriticalSection(&cs);
}

static HANDLE mutex;

static DWORD WINAPI mutex_worker(LPVOID arg)
{
    for (int i = 0; i < LOOPS / 4; i++) {
        WaitForSingleObject(mutex, INFINITE);
        plain_counter++;
        ReleaseMutex(mutex);
    }
    return 0;
}

static DWORD WINAPI release_foreign(LPVOID arg)
{
    BOOL ok = ReleaseMutex(mutex);
    return ok ? 0 : GetLastError();
}

static DWORD WINAPI take_and_die(LPVOID arg)
{
    WaitForSingleObject(mutex, INFINITE);
    return 0;                      /* ends owning it: the mutex is abandoned */
}

static void mutexes(void)
{
    DWORD r1, r2, r3;
    HANDLE hs[N];
    DWORD code;
    section("mutexes");
    mutex = CreateMutexA(NULL, TRUE, NULL);
    r1 = WaitForSingleObject(mutex, 0);
    r2 = WaitForSingleObject(mutex, 0);
    printf("recursive: %lu %lu\n", r1, r2);
    r1 = ReleaseMutex(mutex);
    r2 = ReleaseMutex(mutex);
    r3 = ReleaseMutex(mutex);
    printf("release x3: %lu %lu %lu\n", r1, r2, r3);
    r1 = ReleaseMutex(mutex);
    printf("release when not owned: %lu, error %lu\n", r1, GetLastError());
    plain_counter = 0;
    for (int i = 0; i < N; i++)
        hs[i] = CreateThread(NULL, 0, mutex_worker, NULL, 0, NULL);
    WaitForMultipleObjects(N, hs, TRUE, INFINITE);
    for (int i = 0; i < N; i++)
        CloseHandle(hs[i]);
    printf("counter: %ld (expected %d)\n", plain_counter, N * (LOOPS / 4));
    WaitForSingleObject(mutex, INFINITE);
    hs[0] = CreateThread(NULL, 0, release_foreign, NULL, 0, NULL);
    WaitForSingleObject(hs[0], INFINITE);
    GetExitCodeThread(hs[0], &code);
    printf("ReleaseMutex by another thread: error %lu\n", code);
    CloseHandle(hs[0]);
    ReleaseMutex(mutex);
    hs[0] = CreateThread(NULL, 0, take_and_die, NULL, 0, NULL);
    WaitForSingleObject(hs[0], INFINITE);
    CloseHandle(hs[0]);
    r1 = WaitForSingleObject(mutex, 1000);
    printf("abandoned: %#lx\n", r1);
    r1 = WaitForSingleObject(mutex, 0);
    printf("then owned normally: %lu\n", r1);
    ReleaseMutex(mutex);
    ReleaseMutex(mutex);
    CloseHandle(mutex);
    HANDLE named = CreateMutexW(NULL, FALSE, L"guise-test-mutex");
    HANDLE again = CreateMutexW(NULL, FALSE, L"guise-test-mutex");
    printf("named again: %d, error %lu\n", again != NULL && again != named, GetLastError());
    CloseHandle(again);
    CloseHandle(named);
}

static HANDLE go, done_sem;
static volatile LONG woken;

static DWORD WINAPI event_waiter(LPVOID arg)
{
    WaitForSingleObject(go, INFINITE);
    InterlockedIncrement(&woken);
    ReleaseSemaphore(done_sem, 1, NULL);
    return 0;
}

static void events(void)
{
    DWORD r1, r2, r3;
    HANDLE hs[3];
    DWORD t0;
    section("events");
    HANDLE manual = CreateEventA(NULL, TRUE, FALSE, NULL);
    HANDLE autoev = CreateEventA(NULL, FALSE, TRUE, NULL);
    printf("manual unset: %#lx\n", WaitForSingleObject(manual, 0));
    SetEvent(manual);
    r1 = WaitForSingleObject(manual, 0);
    r2 = WaitForSingleObject(manual, 0);
    printf("manual set: %lu %lu\n", r1, r2);
    ResetEvent(manual);
    printf("manual reset: %#lx\n", WaitForSingleObject(manual, 0));
    r1 = WaitForSingleObject(autoev, 0);
    r2 = WaitForSingleObject(autoev, 0);
    printf("auto (initially set): %lu then %#lx\n", r1, r2);
    t0 = GetTickCount();
    r1 = WaitForSingleObject(autoev, 50);
    printf("timeout 50 ms: %#lx, waited at least 40 ms: %d\n", r1, GetTickCount() - t0 >= 40);
    go = manual;
    done_sem = CreateSemaphoreA(NULL, 0, 10, NULL);
    woken = 0;
    for (int i = 0; i < 3; i++)
        hs[i] = CreateThread(NULL, 0, event_waiter, NULL, 0, NULL);
    Sleep(20);
    printf("woken before SetEvent: %ld\n", woken);
    SetEvent(manual);
    for (int i = 0; i < 3; i++)
        WaitForSingleObject(done_sem, INFINITE);
    printf("woken by one manual SetEvent: %ld\n", woken);
    WaitForMultipleObjects(3, hs, TRUE, INFINITE);
    for (int i = 0; i < 3; i++)
        CloseHandle(hs[i]);
    CloseHandle(manual);
    CloseHandle(autoev);
    CloseHandle(done_sem);
}

static void semaphores(void)
{
    DWORD r1, r2, r3;
    LONG prev = -1;
    section("semaphores");
    HANDLE s = CreateSemaphoreW(NULL, 1, 2, NULL);
    r1 = WaitForSingleObject(s, 0);
    r2 = WaitForSingleObject(s, 0);
    printf("take: %lu, empty: %#lx\n", r1, r2);
    r1 = ReleaseSemaphore(s, 3, &prev);
    printf("release 3 over max 2: %lu, error %lu\n", r1, GetLastError());
    r1 = ReleaseSemaphore(s, 2, &prev);
    printf("release 2: %lu, previous %ld\n", r1, prev);
    r1 = WaitForSingleObject(s, 0);
    r2 = WaitForSingleObject(s, 0);
    r3 = WaitForSingleObject(s, 0);
    printf("take twice: %lu %lu, then %#lx\n", r1, r2, r3);
    r1 = CreateSemaphoreA(NULL, 3, 2, NULL) != NULL;
    printf("bad max: %lu, error %lu\n", r1, GetLastError());
    CloseHandle(s);
}

static void wait_multiple(void)
{
    DWORD r1, r2, r3;
    section("WaitForMultipleObjects");
    HANDLE e[3];
    for (int i = 0; i < 3; i++)
        e[i] = CreateEventA(NULL, TRUE, FALSE, NULL);
    printf("none set: %#lx\n", WaitForMultipleObjects(3, e, FALSE, 10));
    SetEvent(e[2]);
    printf("any, third set: %lu\n", WaitForMultipleObjects(3, e, FALSE, 0));
    SetEvent(e[1]);
    printf("any, second and third set: %lu\n", WaitForMultipleObjects(3, e, FALSE, 0));
    printf("all, two of three: %#lx\n", WaitForMultipleObjects(3, e, TRUE, 10));
    SetEvent(e[0]);
    printf("all set: %lu\n", WaitForMultipleObjects(3, e, TRUE, 0));
    HANDLE m = CreateMutexA(NULL, FALSE, NULL);
    HANDLE two[2] = {m, e[0]};
    r1 = WaitForMultipleObjects(2, two, TRUE, 0);
    r2 = ReleaseMutex(m);
    printf("all with a mutex: %lu, owns it: %lu\n", r1, r2);
    r1 = WaitForSingleObject((HANDLE)0x1230, 0);
    printf("bad handle: %#lx, error %lu\n", r1, GetLastError());
    for (int i = 0; i < 3; i++)
        CloseHandle(e[i]);
    CloseHandle(m);
}

static DWORD WINAPI srw_worker(LPVOID arg)
{
    for (int i = 0; i < LOOPS; i++) {
        AcquireSRWLockExclusive(&srw);
        plain_counter++;
        ReleaseSRWLockExclusive(&srw);
        AcquireSRWLockShared(&srw);
        ReleaseSRWLockShared(&srw);
    }
    return 0;
}

static DWORD WINAPI srw_try_exclusive(LPVOID arg) { return TryAcquireSRWLockExclusive(&srw); }

static void srw_locks(void)
{
    DWORD r1, r2, r3;
    HANDLE hs[N];
    DWORD code;
    section("SRW locks");
    plain_counter = 0;
    for (int i = 0; i < N; i++)
        hs[i] = CreateThread(NULL, 0, srw_worker, NULL, 0, NULL);
    WaitForMultipleObjects(N, hs, TRUE, INFINITE);
    for (int i = 0; i < N; i++)
        CloseHandle(hs[i]);
    printf("counter: %ld (expected %d)\n", plain_counter, N * LOOPS);
    r1 = TryAcquireSRWLockShared(&srw);
    r2 = TryAcquireSRWLockShared(&srw);
    printf("shared twice: %lu %lu\n", r1, r2);
    hs[0] = CreateThread(NULL, 0, srw_try_exclusive, NULL, 0, NULL);
    WaitForSingleObject(hs[0], INFINITE);
    GetExitCodeThread(hs[0], &code);
    CloseHandle(hs[0]);
    printf("exclusive while shared: %lu\n", code);
    ReleaseSRWLockShared(&srw);
    ReleaseSRWLockShared(&srw);
    printf("exclusive when free: %d\n", TryAcquireSRWLockExclusive(&srw));
    ReleaseSRWLockExclusive(&srw);
}

#define QUEUE 8
static CONDITION_VARIABLE not_empty = CONDITION_VARIABLE_INIT, not_full = CONDITION_VARIABLE_INIT;
static int queue[QUEUE], head, count_in_queue;
static CRITICAL_SECTION qlock;

static DWORD WINAPI producer(LPVOID arg)
{
    for (int i = 1; i <= 1000; i++) {
        EnterCriticalSection(&qlock);
        while (count_in_queue == QUEUE)
            SleepConditionVariableCS(&not_full, &qlock, INFINITE);
        queue[(head + count_in_queue++) % QUEUE] = i;
        WakeConditionVariable(&not_empty);
        LeaveCriticalSection(&qlock);
    }
    return 0;
}

static DWORD WINAPI consumer(LPVOID arg)
{
    DWORD sum = 0;
    for (int i = 0; i < 500; i++) {
        EnterCriticalSection(&qlock);
        while (count_in_queue == 0)
            SleepConditionVariableCS(&not_empty, &qlock, INFINITE);
        sum += queue[head];
        head = (head + 1) % QUEUE;
        count_in_queue--;
        WakeConditionVariable(&not_full);
        LeaveCriticalSection(&qlock);
    }
    return sum;
}

static CONDITION_VARIABLE gate = CONDITION_VARIABLE_INIT;
static int gate_open;
static volatile LONG through;

static DWORD WINAPI gate_waiter(LPVOID arg)
{
    AcquireSRWLockShared(&srw);
    while (!gate_open)
        SleepConditionVariableSRW(&gate, &srw, INFINITE, CONDITION_VARIABLE_LOCKMODE_SHARED);
    ReleaseSRWLockShared(&srw);
    InterlockedIncrement(&through);
    return 0;
}

static void condition_variables(void)
{
    HANDLE hs[N];
    DWORD a, b;
    section("condition variables");
    InitializeCriticalSection(&qlock);
    hs[0] = CreateThread(NULL, 0, producer, NULL, 0, NULL);
    hs[1] = CreateThread(NULL, 0, consumer, NULL, 0, NULL);
    hs[2] = CreateThread(NULL, 0, consumer, NULL, 0, NULL);
    WaitForMultipleObjects(3, hs, TRUE, INFINITE);
    GetExitCodeThread(hs[1], &a);
    GetExitCodeThread(hs[2], &b);
    printf("consumed sum: %lu (expected 500500)\n", a + b);
    for (int i = 0; i < 3; i++)
        CloseHandle(hs[i]);
    EnterCriticalSection(&qlock);
    BOOL ok = SleepConditionVariableCS(&not_empty, &qlock, 10);
    printf("timed out: %d, error %lu\n", ok, GetLastError());
    LeaveCriticalSection(&qlock);
    DeleteCriticalSection(&qlock);

    through = 0;
    for (int i = 0; i < N; i++)
        hs[i] = CreateThread(NULL, 0, gate_waiter, NULL, 0, NULL);
    Sleep(20);
    printf("through the closed gate: %ld\n", through);
    AcquireSRWLockExclusive(&srw);
    gate_open = 1;
    ReleaseSRWLockExclusive(&srw);
    WakeAllConditionVariable(&gate);
    WaitForMultipleObjects(N, hs, TRUE, INFINITE);
    printf("through after WakeAll: %ld\n", through);
    for (int i = 0; i < N; i++)
        CloseHandle(hs[i]);
}

static DWORD WINAPI interlocked_worker(LPVOID arg)
{
    for (int i = 0; i < LOOPS; i++) {
        InterlockedIncrement(&counter);
        InterlockedExchangeAdd(&counter, 2);
        InterlockedDecrement(&counter);
    }
    return 0;
}

static void interlocked(void)
{
    HANDLE hs[N];
    LONG v = 5;
    section("interlocked");
    counter = 0;
    for (int i = 0; i < N; i++)
        hs[i] = CreateThread(NULL, 0, interlocked_worker, NULL, 0, NULL);
    WaitForMultipleObjects(N, hs, TRUE, INFINITE);
    for (int i = 0; i < N; i++)
        CloseHandle(hs[i]);
    printf("counter: %ld (expected %d)\n", counter, N * LOOPS * 2);
    LONG a = InterlockedCompareExchange(&v, 9, 5);
    LONG b = InterlockedCompareExchange(&v, 1, 5);
    printf("compare-exchange: %ld %ld -> %ld\n", a, b, v);
    a = InterlockedExchange(&v, 3);
    printf("exchange: %ld -> %ld\n", a, v);
}

static void WINAPI fls_callback(void *value)
{
    InterlockedExchangeAdd(&fls_freed, (LONG)(ULONG_PTR)value);
}

static __thread int thread_local_value = 11;

static DWORD WINAPI slot_worker(LPVOID arg)
{
    DWORD me = (DWORD)(ULONG_PTR)arg;
    DWORD before = (DWORD)(ULONG_PTR)TlsGetValue(tls_index);
    TlsSetValue(tls_index, (LPVOID)(ULONG_PTR)(100 + me));
    FlsSetValue(fls_index, (LPVOID)(ULONG_PTR)(1000 * me));
    thread_local_value += (int)me;
    Sleep(5);
    return before * 1000000 + (DWORD)(ULONG_PTR)TlsGetValue(tls_index) * 1000 + thread_local_value;
}

static void slots(void)
{
    HANDLE hs[2];
    DWORD a, b;
    section("TLS and FLS");
    tls_index = TlsAlloc();
    fls_index = FlsAlloc(fls_callback);
    printf("allocated: %d %d\n", tls_index != TLS_OUT_OF_INDEXES, fls_index != FLS_OUT_OF_INDEXES);
    TlsSetValue(tls_index, (LPVOID)1);
    FlsSetValue(fls_index, (LPVOID)2);
    for (int i = 0; i < 2; i++)
        hs[i] = CreateThread(NULL, 0, slot_worker, (LPVOID)(ULONG_PTR)(i + 1), 0, NULL);
    WaitForMultipleObjects(2, hs, TRUE, INFINITE);
    GetExitCodeThread(hs[0], &a);
    GetExitCodeThread(hs[1], &b);
    printf("thread 1: %lu, thread 2: %lu\n", a, b);
    printf("main keeps its own: %lu %lu, __thread %d\n", (DWORD)(ULONG_PTR)TlsGetValue(tls_index),
           (DWORD)(ULONG_PTR)FlsGetValue(fls_index), thread_local_value);
    printf("FLS callbacks ran for the threads: %ld\n", fls_freed);
    a = TlsFree(tls_index);
    b = FlsFree(fls_index);
    printf("free: %lu %lu\n", a, b);
    printf("FLS callback for main's value at FlsFree: %ld\n", fls_freed);
    a = TlsFree(tls_index);
    printf("free again: %lu, error %lu\n", a, GetLastError());
}

static int once_calls;

static BOOL CALLBACK once_fn(PINIT_ONCE once, PVOID param, PVOID *context)
{
    once_calls++;
    *context = (PVOID)0x40;
    return TRUE;
}

static void init_once(void)
{
    static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
    PVOID ctx = NULL;
    section("InitOnceExecuteOnce");
    BOOL a = InitOnceExecuteOnce(&once, once_fn, NULL, &ctx);
    BOOL b = InitOnceExecuteOnce(&once, once_fn, NULL, &ctx);      /* sequenced: separate statements */
    printf("results %d %d, calls %d, context %#lx\n", a, b, once_calls, (DWORD)(ULONG_PTR)ctx);
}

static DWORD WINAPI exit_process(LPVOID arg)
{
    Sleep(20);
    printf("thread ends the process\n");
    ExitProcess(5);
    return 0;
}

static DWORD WINAPI outlive_main(LPVOID arg)
{
    Sleep(50);
    printf("thread outlived main\n");
    return 4;
}

static DWORD WINAPI crash(LPVOID arg)
{
    *(volatile int *)arg = 1;
    return 0;
}

/* Other ways a threaded process ends, chosen by argv[1]; "idle" blocks 1.5 s in
 * waits (a guest thread sleeping, main waiting for it) to show waits do not spin. */
static int ending(const char *mode)
{
    HANDLE never = CreateEventA(NULL, TRUE, FALSE, NULL);
    if (strcmp(mode, "exitprocess") == 0) {
        CreateThread(NULL, 0, exit_process, NULL, 0, NULL);
        WaitForSingleObject(never, INFINITE);
    } else if (strcmp(mode, "exitthread") == 0) {
        CreateThread(NULL, 0, outlive_main, NULL, 0, NULL);
        printf("main calls ExitThread\n");
        ExitThread(1);
    } else if (strcmp(mode, "crash") == 0) {
        CreateThread(NULL, 0, crash, NULL, 0, NULL);
        WaitForSingleObject(never, INFINITE);
    } else if (strcmp(mode, "idle") == 0) {
        HANDLE h = CreateThread(NULL, 0, exit_with_arg, (LPVOID)0, CREATE_SUSPENDED, NULL);
        printf("timed out: %#lx\n", WaitForSingleObject(never, 1000));
        ResumeThread(h);
        Sleep(500);
        printf("thread: %lu\n", WaitForSingleObject(h, INFINITE));
        return 0;
    }
    printf("unknown mode\n");
    return 2;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1)
        return ending(argv[1]);
    threads();
    critical_sections();
    mutexes();
    events();
    semaphores();
    wait_multiple();
    srw_locks();
    condition_variables();
    interlocked();
    slots();
    init_once();
    printf("done\n");
    return 0;
}
