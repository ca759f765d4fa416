/* errno and _doserrno are per thread in msvcrt, as on Windows: two threads set
 * different values (by hand and through failing CRT calls), take turns through
 * events so that each sets its own while the other's is live, and each reads
 * its own back; the main thread's stays as it left it.  A new thread starts
 * with errno 0. */
#include <windows.h>
#include <errno.h>
#include <process.h>
#include <stdio.h>
#include <stdlib.h>

static HANDLE a_set, b_set;
static int *addr[2];
static int seen[2][3];

static unsigned __stdcall thread_a(void *arg)
{
    (void)arg;
    seen[0][0] = errno;                         /* fresh thread: 0 */
    addr[0] = _errno();
    errno = EDOM;
    _doserrno = 1111;
    SetEvent(a_set);
    WaitForSingleObject(b_set, INFINITE);       /* b has set its own meanwhile */
    seen[0][1] = errno;
    seen[0][2] = _doserrno;
    return 0;
}

static unsigned __stdcall thread_b(void *arg)
{
    (void)arg;
    WaitForSingleObject(a_set, INFINITE);
    seen[1][0] = errno;
    addr[1] = _errno();
    errno = ERANGE;
    _doserrno = 2222;
    if (fopen("no such file.txt", "r") == NULL)  /* the CRT sets this thread's errno */
        seen[1][1] = errno;
    SetEvent(b_set);
    seen[1][2] = _doserrno;
    return 0;
}

int main(void)
{
    errno = EACCES;
    _doserrno = 5;
    a_set = CreateEventA(NULL, TRUE, FALSE, NULL);
    b_set = CreateEventA(NULL, TRUE, FALSE, NULL);
    HANDLE t[2];
    t[0] = (HANDLE)_beginthreadex(NULL, 0, thread_a, NULL, 0, NULL);
    t[1] = (HANDLE)_beginthreadex(NULL, 0, thread_b, NULL, 0, NULL);
    WaitForMultipleObjects(2, t, TRUE, INFINITE);
    printf("a: errno at start %d, after b ran %d (EDOM %d), _doserrno %d\n",
           seen[0][0], seen[0][1], EDOM, seen[0][2]);
    printf("b: errno at start %d, after fopen %d (ENOENT %d), _doserrno %d\n",
           seen[1][0], seen[1][1], ENOENT, seen[1][2]);
    printf("_errno() distinct: a/b %s, a/main %s\n", addr[0] != addr[1] ? "yes" : "no",
           addr[0] != _errno() ? "yes" : "no");
    printf("main: errno %d (EACCES %d), _doserrno %d\n", errno, EACCES, _doserrno);
    CloseHandle(t[0]);
    CloseHandle(t[1]);
    return 0;
}
