// The native floor of a remote full load over loopback (issue 16), for bench/scenarios/remote-load:
// the best a receiver on this machine does. N threads, each with its own keep-alive connection to
// the server, send one range GET each for an equal part of the file and recv() the body straight
// into its place in one buffer: fresh anonymous memory per transfer, mapped as the addon maps a
// load's destination (huge pages), or one buffer kept and touched before the first transfer
// ("warm"). No decryption, no checks beyond the status line and Content-Length. Only for the
// benchmark: no timeouts, never for untrusted servers. Compiled by bench/lib/http-floors.mjs with
// the system `cc` into the OS temp dir.
//
// Usage: recv-floor HOST PORT PATH SIZE THREADS
// then one command per stdin line: "fresh" or "warm"; answers one line per command on stdout:
// "ok WALL_US CPU_US MINOR_FAULTS" (CPU of every thread of this process) or "error TEXT".
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 16

static const char *host, *path;
static int port, threads;
static size_t size;

struct worker {
  int fd;
  size_t start, end;  // byte range of the file (and of the buffer)
  unsigned char* dest;
  int failed;
  pthread_t thread;
};
static struct worker workers[MAX_THREADS];

static int connect_to_server(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1 ||
      connect(fd, (struct sockaddr*)&addr, sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// One range GET on the worker's connection; the body lands at dest + start.
static int fetch_range(struct worker* w) {
  char request[1024];
  int n = snprintf(request, sizeof request,
                   "GET %s HTTP/1.1\r\nHost: %s:%d\r\nRange: bytes=%zu-%zu\r\n\r\n", path, host,
                   port, w->start, w->end - 1);
  if (send(w->fd, request, (size_t)n, MSG_NOSIGNAL) != n) return -1;
  // The head: read in small steps until the blank line; whatever body came with it is copied.
  char head[8192];
  size_t got = 0;
  char* blank = NULL;
  while (!blank) {
    if (got == sizeof head - 1) return -1;
    ssize_t r = recv(w->fd, head + got, sizeof head - 1 - got, 0);
    if (r <= 0) return -1;
    got += (size_t)r;
    head[got] = 0;
    blank = strstr(head, "\r\n\r\n");
  }
  if (strncmp(head + 8, " 206", 4) != 0) return -1;
  const char* length = strcasestr(head, "\r\ncontent-length:");
  if (!length || strtoull(length + 17, NULL, 10) != w->end - w->start) return -1;
  size_t early = got - (size_t)(blank + 4 - head);
  unsigned char* at = w->dest + w->start;
  memcpy(at, blank + 4, early);
  size_t want = w->end - w->start;
  for (size_t have = early; have < want;) {
    // MSG_WAITALL: one wake-up per socket-buffer fill, not per segment (measured: 2 and 4 threads,
    // best and median equal or lower than plain recv()).
    ssize_t r = recv(w->fd, at + have, want - have, MSG_WAITALL);
    if (r <= 0) return -1;
    have += (size_t)r;
  }
  return 0;
}

static void* run_worker(void* arg) {
  struct worker* w = arg;
  if (w->fd < 0) w->fd = connect_to_server();
  w->failed = w->fd < 0 || fetch_range(w) != 0;
  if (w->failed && w->fd >= 0) {
    close(w->fd);
    w->fd = -1;
  }
  return NULL;
}

// Anonymous memory as the addon's arenas get it (native/arena.cc): 2 MiB aligned, MADV_HUGEPAGE
// (the kernel then faults it in 2 MiB at a time, not 4 KiB).
#define HUGE_PAGE (2u << 20)
static size_t mapped_length(void) { return (size + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE; }

static unsigned char* map_fresh(void) {
  size_t length = mapped_length();
  unsigned char* raw =
      mmap(NULL, length + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return NULL;
  uintptr_t start = ((uintptr_t)raw + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
  unsigned char* data = (unsigned char*)start;
  if (data > raw) munmap(raw, (size_t)(data - raw));
  size_t tail = (size_t)(raw + length + HUGE_PAGE - (data + length));
  if (tail > 0) munmap(data + length, tail);
  madvise(data, length, MADV_HUGEPAGE);
  return data;
}

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static double cpu_us(const struct rusage* u) {
  return u->ru_utime.tv_sec * 1e6 + u->ru_utime.tv_usec + u->ru_stime.tv_sec * 1e6 +
         u->ru_stime.tv_usec;
}

int main(int argc, char** argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: recv-floor HOST PORT PATH SIZE THREADS\n");
    return 2;
  }
  host = argv[1];
  port = atoi(argv[2]);
  path = argv[3];
  size = strtoull(argv[4], NULL, 10);
  threads = atoi(argv[5]);
  if (threads < 1 || threads > MAX_THREADS || size < (size_t)threads) return 2;
  for (int i = 0; i < threads; i++) workers[i].fd = -1;
  unsigned char* warm = NULL;
  char line[64];
  setvbuf(stdout, NULL, _IOLBF, 0);
  while (fgets(line, sizeof line, stdin)) {
    int fresh = strncmp(line, "fresh", 5) == 0;
    if (!fresh && !warm) {
      warm = map_fresh();
      if (!warm) return 1;
      memset(warm, 1, size);
    }
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    double t0 = now_us();
    unsigned char* dest = fresh ? map_fresh() : warm;
    if (!dest) return 1;
    for (int i = 0; i < threads; i++) {
      workers[i].start = size * (size_t)i / (size_t)threads;
      workers[i].end = size * (size_t)(i + 1) / (size_t)threads;
      workers[i].dest = dest;
      pthread_create(&workers[i].thread, NULL, run_worker, &workers[i]);
    }
    int failed = 0;
    for (int i = 0; i < threads; i++) {
      pthread_join(workers[i].thread, NULL);
      failed |= workers[i].failed;
    }
    double t1 = now_us();
    getrusage(RUSAGE_SELF, &after);
    if (fresh)
      munmap(dest, mapped_length());  // after the clock: a load's destination outlives the load
    if (failed)
      printf("error transfer failed\n");
    else
      printf("ok %.0f %.0f %ld\n", t1 - t0, cpu_us(&after) - cpu_us(&before),
             after.ru_minflt - before.ru_minflt);
  }
  return 0;
}
