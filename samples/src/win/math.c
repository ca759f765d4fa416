/* Doubles across the API boundary (msvcrt's math reached with GetProcAddress): arguments in xmm registers (x64) or on the stack
 * (x86), results in xmm0 or st(0); strtod/atof; errno from a domain error. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <windows.h>

typedef double (*fn1)(double);
typedef double (*fn2)(double, double);

int main(void)
{
    volatile double two = 2.0, ten = 10.0, neg = -1.5, big = 1e308;
    char *end;
    double d = strtod("  -3.25e2xyz", &end);
    printf("sqrt %.10f pow %.1f floor %.1f ceil %.1f fabs %.2f\n", sqrt(two), pow(two, ten),
           floor(neg), ceil(neg), fabs(neg));
    printf("sin %.6f cos %.6f atan2 %.6f exp %.6f log %.6f fmod %.2f\n", sin(two), cos(two),
           atan2(two, ten), exp(two), log(ten), fmod(ten, 3.0 + two * 0));
    printf("strtod %.2f rest [%s] atof %.3f\n", d, end, atof("1.125"));
    errno = 0;
    d = sqrt(neg);
    printf("sqrt(-1.5) is nan: %d, errno %d\n", d != d, errno);
    printf("big*10 %e\n", big * ten);
    {   /* mingw links its own libm: reach msvcrt's through GetProcAddress */
        HMODULE crt = GetModuleHandleA("msvcrt.dll");
        fn1 psqrt = (fn1)GetProcAddress(crt, "sqrt");
        fn2 ppow = (fn2)GetProcAddress(crt, "pow"), pfmod = (fn2)GetProcAddress(crt, "fmod");
        printf("msvcrt sqrt %.6f pow %.1f fmod %.2f missing %p\n", psqrt(two), ppow(two, ten),
               pfmod(ten, 4.0), (void *)GetProcAddress(crt, "no_such_export"));
    }
    return (int)floor(two * 3.7);
}
