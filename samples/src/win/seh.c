/* Structured exceptions: RaiseException and CPU faults (an access violation, an
 * integer divide by zero) reach a vectored handler, which continues execution; a
 * frame-based handler (mingw's __try1/__except1: __C_specific_handler with a
 * filter on x64, an fs:[0] registration on x86) recovers from a fault.  With an
 * argument: "unhandled" ends through a SetUnhandledExceptionFilter filter, "raise"
 * by an unhandled RaiseException (the exit status is the code's low byte). */
#include <stdio.h>
#include <string.h>
#include <windows.h>
#include <excpt.h>

static int skip;          /* bytes of the faulting instruction a handler steps over */

static LONG CALLBACK vectored(EXCEPTION_POINTERS *ep)
{
    EXCEPTION_RECORD *r = ep->ExceptionRecord;
    printf("vectored: code %#lx, %lu parameters", r->ExceptionCode, r->NumberParameters);
    for (DWORD i = 0; i < r->NumberParameters; i++)
        printf(" %lu", (unsigned long)r->ExceptionInformation[i]);
    printf("\n");
#ifdef _WIN64
    ep->ContextRecord->Rip += skip;
#else
    ep->ContextRecord->Eip += skip;
#endif
    return EXCEPTION_CONTINUE_EXECUTION;
}

static void write_null(void)
{
    __asm__ __volatile__("movl $1, (%0)" : : "a"((volatile int *)0) : "memory");  /* c7 00 imm32: 6 bytes */
}

static unsigned divide_by_zero(void)
{
    unsigned q;
    __asm__ __volatile__("divl %%ecx" : "=a"(q) : "a"(7), "d"(0), "c"(0));   /* f7 f1: 2 bytes */
    return q;
}

static int frame_handler_ran;

#ifdef _WIN64
LONG filter(EXCEPTION_POINTERS *ep, void *frame)
{
    frame_handler_ran = 1;
    printf("frame handler: code %#lx\n", ep->ExceptionRecord->ExceptionCode);
    return EXCEPTION_EXECUTE_HANDLER;
}
#define HANDLER filter
#else
EXCEPTION_DISPOSITION raw_handler(EXCEPTION_RECORD *r, void *frame, CONTEXT *ctx, void *disp)
{
    frame_handler_ran = 1;
    printf("frame handler: code %#lx\n", r->ExceptionCode);
    ctx->Eip += 6;
    return ExceptionContinueExecution;
}
#define HANDLER raw_handler
#endif

static __attribute__((noinline)) void guarded(void)
{
    __try1(HANDLER)
    write_null();
    __except1
    printf("after the guarded block: handler ran %d\n", frame_handler_ran);
}

static LONG WINAPI last_chance(EXCEPTION_POINTERS *ep)
{
    printf("unhandled filter: code %#lx\n", ep->ExceptionRecord->ExceptionCode);
    fflush(stdout);
    return EXCEPTION_EXECUTE_HANDLER;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && strcmp(argv[1], "unhandled") == 0) {
        SetUnhandledExceptionFilter(last_chance);
        write_null();
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "raise") == 0)
        RaiseException(0xE0000042, 0, 0, NULL);

    PVOID h = AddVectoredExceptionHandler(1, vectored);
    ULONG_PTR args[2] = {7, 9};
    skip = 0;
    RaiseException(0xE0000001, 0, 2, args);
    printf("after RaiseException\n");
    skip = 6;
    write_null();
    printf("after the access violation\n");
    skip = 2;
    printf("after the division: %u\n", divide_by_zero());
    printf("removed: %lu\n", RemoveVectoredExceptionHandler(h));
    guarded();
    printf("done\n");
    return 0;
}
