/*
 * The kernel's floor for fan-out on this machine: how long plain loopback TCP takes to
 * carry one small message to N connections, with no WebSocket, no runtime and no
 * server logic. One process (the sender, with T threads) writes SIZE bytes to each of
 * its N accepted sockets; another (the receiver) reads them through epoll and times
 * each arrival (its last byte read) from the moment the sender began the round (kept in
 * memory both processes share). EVENTS rounds.
 *
 *   gcc -O2 -pthread -o /tmp/fanout-floor scripts/fanout-floor.c
 *   /tmp/fanout-floor 10000 20 480 2       # N EVENTS SIZE THREADS (needs ulimit -n > N+64)
 *   /tmp/fanout-floor 10000 5 480 1 late   # the receiver reads each round 0.4 s late
 *
 * With `late`, no reader is waiting while the sender writes, so the sender's time per
 * write is the send without waking anyone (the latencies then mean nothing).
 *
 * Prints the per-delivery p50 / p99 / max (as `chit bench --fanout` reports "delivery"),
 * the median time for the last of the N to have it ("reach all"), and the sender's time
 * per write. Only 127.0.0.1 is ever used.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int by_value(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

struct share {
    int *fds, n, size, threads, first;
    const char *buf;
};

/* Writes the round's message to every THREADS-th socket from FIRST. */
static void *write_share(void *arg) {
    struct share *s = arg;
    for (int i = s->first; i < s->n; i += s->threads)
        if (write(s->fds[i], s->buf, s->size) != s->size)
            die("write");
    return NULL;
}

/* When the sender began the current round; shared between the two processes. */
static volatile long long *round_start;

/* Connects N sockets, then reads EVENTS rounds; reports the latencies. */
static void receive(struct sockaddr_in *addr, int n, int events, int size, int late, int ready_fd) {
    int one = 1, ep = epoll_create1(0), max_fd = 0;
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)addr, sizeof *addr))
            die("connect");
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(fd, F_SETFL, O_NONBLOCK);
        if (fd > max_fd)
            max_fd = fd;
        struct epoll_event e = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
    }
    char c = 'r';
    if (write(ready_fd, &c, 1) != 1)
        die("ready");
    long long *lat = malloc(sizeof *lat * (size_t)n * events), *last = malloc(sizeof *last * events);
    int *pending = malloc(sizeof *pending * (max_fd + 1)); /* bytes still due this round */
    size_t k = 0;
    struct epoll_event ev[256];
    char buf[65536];
    for (int e = 0; e < events; e++) {
        long long latest = 0;
        for (int fd = 0; fd <= max_fd; fd++)
            pending[fd] = size;
        if (late)
            usleep(400000);
        for (int got = 0; got < n;) {
            int m = epoll_wait(ep, ev, 256, 10000);
            if (m <= 0)
                die("epoll_wait (a round took over 10 s)");
            for (int j = 0; j < m; j++) {
                int fd = ev[j].data.fd;
                ssize_t r = read(fd, buf, sizeof buf);
                if (r <= 0 || (pending[fd] -= r) > 0)
                    continue;
                long long l = now_ns() - *round_start;
                lat[k++] = l;
                if (l > latest)
                    latest = l;
                got++;
            }
        }
        last[e] = latest;
        if (write(ready_fd, &c, 1) != 1)
            die("ready");
    }
    qsort(lat, k, sizeof *lat, by_value);
    qsort(last, events, sizeof *last, by_value);
    printf("delivery   p50 %.2f ms  p99 %.2f ms  max %.2f ms  (n=%zu)\n", lat[k / 2] / 1e6,
           lat[k * 99 / 100] / 1e6, lat[k - 1] / 1e6, k);
    printf("reach all  p50 %.2f ms  (n=%d)\n", last[events / 2] / 1e6, events);
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 10000;
    int events = argc > 2 ? atoi(argv[2]) : 20;
    int size = argc > 3 ? atoi(argv[3]) : 200;
    int threads = argc > 4 ? atoi(argv[4]) : 1;
    int late = argc > 5 && strcmp(argv[5], "late") == 0;
    if (n < 1 || events < 1 || size < 1 || size > 65536 || threads < 1 || threads > 64 ||
        (argc > 5 && !late)) {
        fprintf(stderr, "usage: %s [N] [EVENTS] [SIZE 1..65536] [THREADS] [late]\n", argv[0]);
        return 2;
    }
    int one = 1, listener = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) || listen(listener, 4096) ||
        getsockname(listener, (struct sockaddr *)&addr, &len))
        die("listen");
    round_start = mmap(NULL, sizeof *round_start, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int ready[2];
    if (round_start == MAP_FAILED || pipe(ready))
        die("pipe");
    pid_t child = fork();
    if (child == 0) {
        close(listener);
        receive(&addr, n, events, size, late, ready[1]);
        return 0;
    }
    int *fds = malloc(sizeof *fds * n);
    for (int i = 0; i < n; i++) {
        if ((fds[i] = accept(listener, NULL, NULL)) < 0)
            die("accept");
        setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    char c, *buf = calloc(1, size);
    if (read(ready[0], &c, 1) != 1)
        die("receiver");
    long long spent = 0;
    for (int e = 0; e < events; e++) {
        usleep(20000); /* a quiet moment between rounds, as the bench leaves */
        long long t0 = now_ns();
        *round_start = t0;
        pthread_t tid[64];
        struct share shares[64];
        for (int t = 0; t < threads; t++) {
            shares[t] = (struct share){fds, n, size, threads, t, buf};
            if (t > 0)
                pthread_create(&tid[t], NULL, write_share, &shares[t]);
        }
        write_share(&shares[0]);
        for (int t = 1; t < threads; t++)
            pthread_join(tid[t], NULL);
        spent += now_ns() - t0;
        if (read(ready[0], &c, 1) != 1)
            die("receiver");
    }
    int status;
    waitpid(child, &status, 0);
    printf("sender     %.2f ms a round to write all %d (%.2f us a write, %d thread%s)\n",
           spent / 1e6 / events, n, spent / 1e3 / events / n, threads, threads == 1 ? "" : "s");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
