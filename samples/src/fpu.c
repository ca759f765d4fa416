/* x87, SSE and SSE2 arithmetic, libm, and printf/strtod round trips. */
#include <emmintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    volatile double x = 0.7;
    printf("sin %.17g\ncos %.17g\nsqrt %.17g\nexp %.17g\nlog %.17g\n", sin(x), cos(x), sqrt(2.0), exp(x), log(10.0));
    printf("pow %.17g atan2 %.17g fmod %.17g\n", pow(1.5, 7.25), atan2(1.0, -2.0), fmod(10.5, 3.2));
    volatile double big = 3.99e9, neg = -2.5;
    printf("conv %ld %d %lld\n", (long)big, (int)neg, (long long)(big * 1000));
    long double ld = 1.0L / 3.0L;
    printf("long double %.18Lf\n", ld * 3.0L - 1.0L + ld);
    volatile long double l2 = 2.0L;
    printf("long double 2/3*1e6 %.10Lf sqrtl(2)*1e6 %.10Lf\n", l2 / 3.0L * 1000000.0L, sqrtl(l2) * 1000000.0L);
    __m128d a = _mm_set_pd(1.5, 2.25), b = _mm_set_pd(4.0, -8.0);
    double out[2];
    _mm_storeu_pd(out, _mm_add_pd(_mm_mul_pd(a, b), a));
    printf("sse2 pd %.17g %.17g\n", out[0], out[1]);
    __m128i i1 = _mm_set_epi32(1, 2, 3, 4), i2 = _mm_set_epi32(10, 20, 30, 40);
    int io[4];
    _mm_storeu_si128((__m128i *)io, _mm_add_epi32(_mm_mullo_epi16(i1, i2), i2));
    printf("sse2 epi %d %d %d %d\n", io[0], io[1], io[2], io[3]);
    __m128i s1 = _mm_set1_epi8(3), s2 = _mm_set1_epi8(10);
    __m128i sad = _mm_sad_epu8(s1, s2);
    printf("sad %d\n", _mm_cvtsi128_si32(sad));
    __m128i u1 = _mm_set_epi32(0, -1, 0, 123456789), u2 = _mm_set_epi32(0, -2, 0, 987654321);
    unsigned long long uo[2];
    _mm_storeu_si128((__m128i *)uo, _mm_mul_epu32(u1, u2));
    printf("mul_epu32 %llu %llu\n", uo[0], uo[1]);
    const char *vals[] = {"0.1", "1e308", "5e-324", "-0.0", "123456789.123456789", "1e-10"};
    for (int i = 0; i < 6; i++) {
        double d = strtod(vals[i], NULL);
        printf("%s -> %.17g %a\n", vals[i], d, d);
    }
    volatile double z = 0.0;
    printf("inf %f nan-sign %d\n", 1.0 / z, signbit(-NAN) != 0);
    volatile double qn = NAN, nqn = -NAN;
    double dflt = z / z; /* the CPU's default NaN: sign bit set on x86 */
    printf("nan %f %f default-nan sign %d\n", qn, nqn, signbit(dflt) != 0);
    printf("nan round trip %f %f\n", strtod("nan", NULL), strtod("-nan", NULL));
    float f = 16777217.0f;
    printf("float %.1f\n", (double)f);
    return 0;
}
