/* Calls an API guise does not emulate (ws2_32!WSAStartup) after printing a line:
 * guise must load the program, run it up to that call, then stop with
 * "not implemented: WS2_32.dll!WSAStartup" and its own exit status. */
#include <stdio.h>
#include <winsock2.h>

int main(void)
{
    WSADATA data;
    int r;
    printf("before the call\n");
    fflush(stdout);
    r = WSAStartup(MAKEWORD(2, 2), &data);
    printf("WSAStartup returned %d\n", r);
    return 0;
}
