/* SIGEV_THREAD timers: the libc runs the notification function in a thread of its own
   (glibc and musl build this on SIGEV_THREAD_ID and signal 32); a periodic timer posts
   a semaphore from there until the main thread has seen three expirations, then
   timer_delete; a one-shot timer's notification with a pointer value. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static sem_t sem;
static pthread_t main_thread;
static volatile int bad_value, on_main;
static const char *message = "pointer value";
static const char *volatile seen;

static void tick(union sigval v) {
    if (v.sival_int != 42) bad_value = 1;
    if (pthread_equal(pthread_self(), main_thread)) on_main = 1;
    sem_post(&sem);
}

static void once(union sigval v) {
    seen = v.sival_ptr;
    sem_post(&sem);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    main_thread = pthread_self();
    sem_init(&sem, 0, 0);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD;
    sev.sigev_notify_function = tick;
    sev.sigev_value.sival_int = 42;
    timer_t t;
    if (timer_create(CLOCK_MONOTONIC, &sev, &t) != 0) { printf("timer_create: %s\n", strerror(errno)); return 1; }
    struct itimerspec its = {{0, 10 * 1000 * 1000}, {0, 10 * 1000 * 1000}};
    timer_settime(t, 0, &its, NULL);
    for (int i = 0; i < 3; i++) {
        while (sem_wait(&sem) != 0 && errno == EINTR) {}
        printf("expiration %d\n", i + 1);
    }
    printf("timer_delete: %d\n", timer_delete(t));
    printf("value right: %s, in another thread: %s\n", bad_value ? "no" : "yes", on_main ? "no" : "yes");

    sev.sigev_notify_function = once;
    sev.sigev_value.sival_ptr = (void *)message;
    timer_t t2;
    timer_create(CLOCK_REALTIME, &sev, &t2);
    struct itimerspec one = {{0, 0}, {0, 20 * 1000 * 1000}};
    timer_settime(t2, 0, &one, NULL);
    /* drain posts of expirations that were under way when the first timer was deleted */
    while (seen == NULL) while (sem_wait(&sem) != 0 && errno == EINTR) {}
    printf("one-shot: %s\n", seen);
    timer_delete(t2);
    return 0;
}
