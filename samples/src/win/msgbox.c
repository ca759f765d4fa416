/* MessageBox in a console program: under guise one line on stderr and the
 * default button as the answer; a style Windows does not have fails. */
#include <windows.h>
#include <stdio.h>

int main(void)
{
    printf("MB_OK: %d\n", MessageBoxA(NULL, "all done", "Setup", MB_OK));
    printf("MB_YESNO|MB_DEFBUTTON2: %d\n", MessageBoxW(NULL, L"Overwrite \x00e9t\x00e9.txt?", L"Question",
                                                       MB_YESNO | MB_DEFBUTTON2 | MB_ICONQUESTION));
    printf("MB_RETRYCANCEL, no caption: %d\n", MessageBoxA(NULL, "disk not ready", NULL, MB_RETRYCANCEL));
    SetLastError(0);
    int r = MessageBoxA(NULL, "never shown", "Bad", 0xF);
    printf("style 0xF: %d, error %lu\n", r, GetLastError());
    return 0;
}
