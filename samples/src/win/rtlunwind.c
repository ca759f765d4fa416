/* x86 RtlUnwind, as MSVC's _global_unwind2 calls it: three fs:[0] registrations
 * (outer A, middle B, inner C, each in its own function's frame); unwinding from
 * inside C to B calls C's handler with EXCEPTION_UNWINDING and STATUS_UNWIND, not
 * B's nor A's, leaves B at the head of the chain and returns to the caller; then
 * an exception raised in C reaches C and B, and B unwinds to itself with the
 * exception's own record before it resumes after the call that raised.  The x64
 * build has no fs:[0] chain and only says so. */
#include <stdio.h>
#include <windows.h>

#ifndef _WIN64
typedef struct reg { struct reg *prev; void *handler; } reg;

static reg *head(void) { reg *r; __asm__ __volatile__("movl %%fs:0, %0" : "=r"(r)); return r; }
static void set_head(reg *r) { __asm__ __volatile__("movl %0, %%fs:0" : : "r"(r) : "memory"); }

static reg *frame_b;
static int resume_skip;

static EXCEPTION_DISPOSITION handler(EXCEPTION_RECORD *rec, void *frame, CONTEXT *ctx, void *disp, char name)
{
    printf("handler %c: code %#lx, flags %#lx\n", name, rec->ExceptionCode, rec->ExceptionFlags);
    return ExceptionContinueSearch;
}

static EXCEPTION_DISPOSITION handler_a(EXCEPTION_RECORD *r, void *f, CONTEXT *c, void *d) { return handler(r, f, c, d, 'A'); }
static EXCEPTION_DISPOSITION handler_c(EXCEPTION_RECORD *r, void *f, CONTEXT *c, void *d) { return handler(r, f, c, d, 'C'); }

static EXCEPTION_DISPOSITION handler_b(EXCEPTION_RECORD *rec, void *frame, CONTEXT *ctx, void *disp)
{
    handler(rec, frame, ctx, disp, 'B');
    if (rec->ExceptionFlags & 6)
        return ExceptionContinueSearch;
    RtlUnwind(frame, 0, rec, 0);
    printf("B unwound: head is B %d\n", head() == frame);
    ctx->Eip += resume_skip;            /* step over the faulting store */
    return ExceptionContinueExecution;
}

static __attribute__((noinline)) void inner(int fault)
{
    reg c = {head(), handler_c};
    set_head(&c);
    if (!fault) {
        RtlUnwind(frame_b, 0, NULL, 0);
        printf("after RtlUnwind: head is B %d\n", head() == frame_b);
        return;                          /* C is gone from the chain already */
    }
    resume_skip = 6;
    __asm__ __volatile__("movl $1, (%0)" : : "a"((volatile int *)0) : "memory");   /* 6 bytes */
    printf("resumed in C: head is B %d\n", head() == frame_b);
}

static __attribute__((noinline)) void middle(int fault)
{
    reg b = {head(), handler_b};
    set_head(&b);
    frame_b = &b;
    inner(fault);
    set_head(b.prev);
}

static __attribute__((noinline)) void outer(int fault)
{
    reg a = {head(), handler_a};
    set_head(&a);
    middle(fault);
    printf("back in A: head is A %d\n", head() == &a);
    set_head(a.prev);
}
#endif

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
#ifdef _WIN64
    printf("x64: no fs:[0] chain\n");
#else
    outer(0);
    outer(1);
#endif
    return 0;
}
