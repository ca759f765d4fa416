/* pthreads: mutex, condition variable, rwlock, barrier, TLS, join values, detach. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#define N 4
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t bar;
static long counter, ready, table[N];
static __thread long mine = 100;

static void *worker(void *arg) {
    long id = (long)arg;
    mine += id;
    for (int i = 0; i < 5000; i++) {
        pthread_mutex_lock(&mu);
        counter++;
        pthread_mutex_unlock(&mu);
    }
    pthread_rwlock_wrlock(&rw);
    table[id] = id * id;
    pthread_rwlock_unlock(&rw);
    pthread_barrier_wait(&bar);
    long seen = 0;
    pthread_rwlock_rdlock(&rw);
    for (int i = 0; i < N; i++) seen += table[i];
    pthread_rwlock_unlock(&rw);
    pthread_mutex_lock(&mu);
    ready++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    return (void *)(mine * 1000 + seen);
}

static void *detached(void *arg) { (void)arg; return NULL; }

int main(void) {
    pthread_t t[N];
    pthread_barrier_init(&bar, NULL, N);
    for (long i = 0; i < N; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    pthread_mutex_lock(&mu);
    while (ready < N) pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < N; i++) {
        void *r;
        pthread_join(t[i], &r);
        printf("thread %d returned %ld\n", i, (long)r);
    }
    pthread_t d;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    printf("detached create %d\n", pthread_create(&d, &a, detached, NULL));
    printf("counter %ld main tls %ld\n", counter, mine);
    return 0;
}
