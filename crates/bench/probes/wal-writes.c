/* 25 WAL-like frames (24-byte header + 4 KiB page) written into a file of zeros, as 50 pwrites
   or as one pwritev, each followed by a sync; PAUSE_US between rounds. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
static double now_us(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e6 + t.tv_nsec / 1e3; }
static int by_value(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
enum { FRAMES = 25, ROUNDS = 300, FRAME = 24 + 4096, SPAN = 3 << 20 };
int main(int argc, char **argv) {
  int use_fdatasync = argc > 1 && strcmp(argv[1], "fdatasync") == 0;
  int pause_us = argc > 2 ? atoi(argv[2]) : 0;
  int fd = open("wal-writes.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
  char *zeros = calloc(1, 4 << 20), page[4096], header[24];
  memset(page, 7, sizeof page); memset(header, 1, sizeof header);
  pwrite(fd, zeros, 4 << 20, 0); fsync(fd);
  double one_by_one[ROUNDS], gathered[ROUNDS], sync_time[ROUNDS];
  off_t offset = 0;
  struct iovec parts[2 * FRAMES];
  for (int f = 0; f < FRAMES; f++) { parts[2*f] = (struct iovec){header, 24}; parts[2*f+1] = (struct iovec){page, 4096}; }
  for (int r = 0; r < ROUNDS; r++) {
    if (pause_us) usleep(pause_us);
    double start = now_us();
    for (int f = 0; f < FRAMES; f++) { pwrite(fd, header, 24, offset); pwrite(fd, page, 4096, offset + 24); offset += FRAME; }
    double written = now_us();
    if (use_fdatasync) fdatasync(fd); else fsync(fd);
    sync_time[r] = now_us() - written; one_by_one[r] = written - start;
    if (offset > SPAN) offset = 0;
    if (pause_us) usleep(pause_us);
    start = now_us(); pwritev(fd, parts, 2 * FRAMES, offset); gathered[r] = now_us() - start;
    if (use_fdatasync) fdatasync(fd); else fsync(fd);
    offset += FRAMES * FRAME; if (offset > SPAN) offset = 0;
  }
  qsort(one_by_one, ROUNDS, sizeof(double), by_value); qsort(gathered, ROUNDS, sizeof(double), by_value); qsort(sync_time, ROUNDS, sizeof(double), by_value);
  printf("%s, pause %d us: 50 pwrites p50 %.1f us; one pwritev p50 %.1f us; %s p50 %.1f us\n", use_fdatasync ? "fdatasync" : "fsync", pause_us,
         one_by_one[ROUNDS/2], gathered[ROUNDS/2], use_fdatasync ? "fdatasync" : "fsync", sync_time[ROUNDS/2]);
  unlink("wal-writes.bin");
  return 0;
}
