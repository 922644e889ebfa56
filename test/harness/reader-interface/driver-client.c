/*
 * A C program that loads libSSCardDriver.so as a HIS does (linked against it, the header's
 * prototypes) and runs the calls a test feeds it, one per line on stdin:
 *
 *   <function> <argument>…      integers in decimal, strings as hex of their bytes ('-' = "")
 *
 * and answers each on one line of stdout:  <return code> <hex of output 1> [<hex of output 2>]
 * (outputs as the library wrote them: GBK unless SSCARD_DRIVER_CHARSET says otherwise).
 * The calls share one process, so the library's kept-alive connection serves them all.
 * Used by the tests in e2e/reader-interface/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sscard_driver.h"

#define OUT_SIZE 4096

static char *unhex(const char *h) {
  size_t n = strlen(h);
  char *s = calloc(n / 2 + 2, 1);
  if (strcmp(h, "-") == 0) return s;
  for (size_t i = 0; i + 1 < n; i += 2) {
    unsigned v;
    sscanf(h + i, "%2x", &v);
    s[i / 2] = (char)v;
  }
  return s;
}

static void hex(const char *s) {
  if (!*s) {
    printf("-");
    return;
  }
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) printf("%02X", *p);
}

int main(void) {
  char line[65536];
  setvbuf(stdout, NULL, _IOLBF, 0);
  while (fgets(line, sizeof line, stdin)) {
    char *argv[8] = {0};
    int argc = 0;
    for (char *t = strtok(line, " \r\n"); t && argc < 8; t = strtok(NULL, " \r\n")) argv[argc++] = t;
    if (argc == 0) continue;
    const char *fn = argv[0];
#define I(k) (argc > (k) ? atoi(argv[k]) : 0)
#define S(k) (argc > (k) ? unhex(argv[k]) : unhex("-"))
    char out1[OUT_SIZE] = {0}, out2[OUT_SIZE] = {0};
    int two = 0;
    long rc;
    char *a = S(1), *b = S(2), *c = S(3), *d = S(4);
    if (!strcmp(fn, "iReadCardBas")) rc = iReadCardBas(I(1), out1);
    else if (!strcmp(fn, "iReadCardBas_HSM_Step1")) rc = iReadCardBas_HSM_Step1(I(1), out1);
    else if (!strcmp(fn, "iReadCardBas_HSM_Step2")) rc = iReadCardBas_HSM_Step2(a, out1);
    else if (!strcmp(fn, "iReadCard")) rc = iReadCard(I(1), I(2), c, d, out1);
    else if (!strcmp(fn, "iReadCard_HSM_Step1")) rc = iReadCard_HSM_Step1(I(1), b, c, out1);
    else if (!strcmp(fn, "iReadCard_HSM_Step2")) rc = iReadCard_HSM_Step2(a, out1);
    else if (!strcmp(fn, "iVerifyPIN")) rc = iVerifyPIN(I(1), out1);
    else if (!strcmp(fn, "iChangePIN")) rc = iChangePIN(I(1), out1);
    else if (!strcmp(fn, "iReloadPIN")) rc = iReloadPIN(I(1), b, out1);
    else if (!strcmp(fn, "iReloadPIN_HSM_Step1")) rc = iReloadPIN_HSM_Step1(I(1), b, out1);
    else if (!strcmp(fn, "iReloadPIN_HSM_Step2")) rc = iReloadPIN_HSM_Step2(a, out1);
    else if (!strcmp(fn, "iReloadPIN_HSM_Step3")) rc = iReloadPIN_HSM_Step3(a, out1);
    else if (!strcmp(fn, "iUnblockPIN")) rc = iUnblockPIN(I(1), b, out1);
    else if (!strcmp(fn, "iUnblockPIN_HSM_Step1")) rc = iUnblockPIN_HSM_Step1(I(1), b, out1);
    else if (!strcmp(fn, "iUnblockPIN_HSM_Step2")) rc = iUnblockPIN_HSM_Step2(a, out1);
    else if (!strcmp(fn, "iUnblockPIN_HSM_Step3")) rc = iUnblockPIN_HSM_Step3(a, out1);
    else if (!strcmp(fn, "iDoDebit")) rc = iDoDebit(I(1), b, c, out1);
    else if (!strcmp(fn, "iDoDebit_HSM_Step1")) rc = iDoDebit_HSM_Step1(I(1), b, c, out1);
    else if (!strcmp(fn, "iDoDebit_HSM_Step2")) rc = iDoDebit_HSM_Step2(a, out1);
    else if (!strcmp(fn, "iReadDebitRecord")) rc = iReadDebitRecord(I(1), out1);
    else if (!strcmp(fn, "iWriteCard")) rc = iWriteCard(I(1), b, c, d, out1);
    else if (!strcmp(fn, "iGetCardType")) rc = iGetCardType((unsigned char *)out1, out2), two = 1;
    else if (!strcmp(fn, "iGetReaderInfo")) rc = iGetReaderInfo(out1, out2), two = 1;
    else {
      fprintf(stderr, "driver-client: unknown function %s\n", fn);
      return 2;
    }
    printf("%ld ", rc);
    hex(out1);
    if (two) {
      printf(" ");
      hex(out2);
    }
    printf("\n");
    free(a), free(b), free(c), free(d);
  }
  return 0;
}
