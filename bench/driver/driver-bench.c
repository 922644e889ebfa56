/*
 * npm run bench:driver's native client: calls iReadCardBas through libSSCardDriver.so in a
 * loop for the given number of milliseconds (after a short warm-up) and prints
 * "<calls> <elapsed ms> <failures> <last return code>" — one process, one kept-alive connection,
 * as a HIS polling its reader does. SSCARD_DRIVER_URL chooses the service.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sscard_driver.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  double duration = argc > 1 ? atof(argv[1]) : 2000;
  int iType = argc > 2 ? atoi(argv[2]) : 1;
  char out[2048];
  long last = 0;
  for (int i = 0; i < 50; i++) last = iReadCardBas(iType, out);
  if (last != 0) {
    fprintf(stderr, "driver-bench: iReadCardBas answered %ld: %s\n", last, out);
    return 1;
  }
  long calls = 0, failures = 0;
  double start = now_ms(), elapsed = 0;
  while ((elapsed = now_ms() - start) < duration) {
    last = iReadCardBas(iType, out);
    calls++;
    if (last != 0) failures++;
  }
  printf("%ld %.1f %ld %ld\n", calls, elapsed, failures, last);
  return 0;
}
