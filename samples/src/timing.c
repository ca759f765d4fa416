/* Clocks and sleeping: only facts that hold on every run are printed. */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void) {
    struct timespec a, b, r;
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct timespec req = {0, 10 * 1000 * 1000};
    nanosleep(&req, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("monotonic advanced >= 10ms: %s\n", ns(b) - ns(a) >= 10000000 ? "ok" : "bad");
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    time_t t = time(NULL);
    printf("realtime close to time(): %s\n", (rt.tv_sec - t) <= 1 && (t - rt.tv_sec) <= 1 ? "ok" : "bad");
    struct timeval tv;
    gettimeofday(&tv, NULL);
    printf("gettimeofday sane: %s\n", tv.tv_sec > 1600000000 && tv.tv_usec < 1000000 ? "ok" : "bad");
    printf("clock_getres: %s\n", clock_getres(CLOCK_MONOTONIC, &r) == 0 && ns(r) > 0 && ns(r) <= 1000000 ? "ok" : "bad");
    clock_gettime(CLOCK_MONOTONIC, &a);
    clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("clock_nanosleep: %s\n", ns(b) - ns(a) >= 10000000 ? "ok" : "bad");
    struct utsname u;
    uname(&u);
    printf("sysname %s\n", u.sysname);
    struct tm tm;
    time_t fixed = 1234567890;
    gmtime_r(&fixed, &tm);
    char out[64];
    strftime(out, sizeof out, "%Y-%m-%d %H:%M:%S", &tm);
    printf("gmtime %s\n", out);
    return 0;
}
