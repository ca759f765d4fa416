/* A blocking read does not stop the other threads: the main thread blocks in
 * ReadFile on an anonymous pipe that only a second thread writes to, after it
 * has printed from its side; and with the argument "stdin", the main thread
 * blocks in ReadFile on its standard input while the second thread prints a
 * line, which the test waits for before it writes the input; with "exit", a
 * second thread ends the process while the main thread is blocked reading. */
#include <stdio.h>
#include <string.h>
#include <windows.h>

static HANDLE wr;

static DWORD WINAPI writer(void *arg)
{
    Sleep(50);              /* long enough for the reader to be blocked */
    for (int i = 1; i <= 3; i++)
        printf("writer: line %d\n", i);
    DWORD n;
    if (!WriteFile(wr, "through the pipe", 16, &n, NULL))
        printf("WriteFile failed: %lu\n", GetLastError());
    CloseHandle(wr);
    return 0;
}

static DWORD WINAPI ticker(void *arg)
{
    printf("ticker: the main thread is reading\n");
    return 0;
}

static DWORD WINAPI exiter(void *arg)
{
    Sleep(50);
    printf("exiter: ExitProcess(7)\n");
    ExitProcess(7);
}

int main(int argc, char **argv)
{
    char buf[64];
    DWORD n = 0;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && strcmp(argv[1], "stdin") == 0) {
        HANDLE t = CreateThread(NULL, 0, ticker, NULL, 0, NULL);
        BOOL ok = ReadFile(GetStdHandle(STD_INPUT_HANDLE), buf, sizeof buf - 1, &n, NULL);
        buf[n] = 0;
        printf("main: ReadFile %d, %lu bytes: %s\n", ok, n, buf);
        WaitForSingleObject(t, INFINITE);
        return 0;
    }
    HANDLE rd;
    if (!CreatePipe(&rd, &wr, NULL, 0)) {
        printf("CreatePipe failed: %lu\n", GetLastError());
        return 1;
    }
    int exiting = argc > 1 && strcmp(argv[1], "exit") == 0;
    HANDLE t = CreateThread(NULL, 0, exiting ? exiter : writer, NULL, 0, NULL);
    printf("main: reading\n");
    BOOL ok = ReadFile(rd, buf, sizeof buf - 1, &n, NULL);
    buf[n] = 0;
    printf("main: ReadFile %d, %lu bytes: %s\n", ok, n, buf);
    WaitForSingleObject(t, INFINITE);
    ok = ReadFile(rd, buf, sizeof buf - 1, &n, NULL);
    printf("main: after the writer closed: ReadFile %d, %lu bytes, error %lu\n", ok, n, GetLastError());
    printf("GetFileType %lu\n", GetFileType(rd));
    CloseHandle(rd);
    return 0;
}
