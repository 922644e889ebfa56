/*
 * libSSCardDriver.so — SSCard Lab's native reader library (LD/T 6001.5 interface).
 *
 * Each exported function turns its arguments into the flat JSON request of the local service
 * (`sscard driver serve`), POSTs it to $SSCARD_DRIVER_URL/api/<function> over one kept-alive
 * HTTP/1.1 connection, and copies the answer's outputs back into the caller's buffers,
 * converted from UTF-8 to the caller's charset (GBK unless $SSCARD_DRIVER_CHARSET says
 * otherwise). No service → -11 (读卡器连接错误). Calls are serialised by one mutex: a process
 * drives one reader.
 *
 * Settings (environment, read at each call):
 *   SSCARD_DRIVER_URL          http://host:port[/prefix]   default http://127.0.0.1:12342
 *   SSCARD_DRIVER_CHARSET      iconv name of the caller's strings   default GBK
 *   SSCARD_DRIVER_TIMEOUT      seconds to wait for an answer (PIN entry included)   default 120
 *   SSCARD_DRIVER_OUTBUF_SIZE  bytes the caller's output buffers hold   default 1024
 *
 * Build: npm run build:driver (scripts/build-driver.mjs) → build/libSSCardDriver.so
 */
#define _GNU_SOURCE
#include "sscard_driver.h"
#include "internal.h"

#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

/* Codes of the interface this library itself returns. */
#define E_CONNECT -11  /* 读卡器连接错误: no service, or it stopped answering */
#define E_PARAM -14    /* 命令参数错误 */
#define E_CHECK -15    /* 信息校验出错: the service's answer is not what the protocol says */
#define E_CHARSET -41  /* 运算数据含非法字符: an input is not valid in the caller's charset */
#define E_LENGTH -42   /* 运算数据长度错误: an output does not fit the caller's buffer */

/* ---------------------------------------------------------------- settings and state */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_charset[64];          /* the caller's charset, iconv name */
static iconv_t g_to_caller = (iconv_t)-1, g_from_caller = (iconv_t)-1;

/* A process that forks keeps the lock consistent, and the child opens its own connection. */
static void before_fork(void) { pthread_mutex_lock(&g_lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&g_lock); }
static void after_fork_child(void) {
  drop_connection();
  pthread_mutex_unlock(&g_lock);
}
__attribute__((constructor)) static void on_load(void) {
  pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

static long env_long(const char *name, long dflt, long min, long max) {
  const char *v = getenv(name);
  if (!v || !*v) return dflt;
  char *end;
  long n = strtol(v, &end, 10);
  if (*end || n < min || n > max) return dflt;
  return n;
}

/* Applies the environment; 0 on success, else a message in err. */
static int configure(char *err, size_t errlen) {
  const char *url = getenv("SSCARD_DRIVER_URL");
  if (!url || !*url) url = DEFAULT_URL;
  if (strlen(url) >= sizeof g_url) {
    snprintf(err, errlen, "SSCARD_DRIVER_URL is too long");
    return -1;
  }
  if (strcmp(url, g_url) != 0) {
    drop_connection();
    g_url[0] = 0;
    if (parse_url(url, err, errlen) != 0) return -1;
    strcpy(g_url, url);
  }
  const char *cs = getenv("SSCARD_DRIVER_CHARSET");
  if (!cs || !*cs) cs = "GBK";
  if (strcmp(cs, g_charset) != 0 || g_to_caller == (iconv_t)-1) {
    if (strlen(cs) >= sizeof g_charset) {
      snprintf(err, errlen, "SSCARD_DRIVER_CHARSET is too long");
      return -1;
    }
    if (g_to_caller != (iconv_t)-1) iconv_close(g_to_caller);
    if (g_from_caller != (iconv_t)-1) iconv_close(g_from_caller);
    g_to_caller = iconv_open(cs, "UTF-8");
    g_from_caller = iconv_open("UTF-8", cs);
    if (g_to_caller == (iconv_t)-1 || g_from_caller == (iconv_t)-1) {
      if (g_to_caller != (iconv_t)-1) iconv_close(g_to_caller);
      if (g_from_caller != (iconv_t)-1) iconv_close(g_from_caller);
      g_to_caller = g_from_caller = (iconv_t)-1;
      g_charset[0] = 0;
      snprintf(err, errlen, "SSCARD_DRIVER_CHARSET '%.60s' is not a charset iconv knows", cs);
      return -1;
    }
    strcpy(g_charset, cs);
  }
  return 0;
}

/* Converts in (NUL-terminated) with cd, appending to out; 0, or -1 on an invalid sequence. */
static int convert(iconv_t cd, const char *in, buf_t *out) {
  iconv(cd, NULL, NULL, NULL, NULL);
  char *src = (char *)in;
  size_t left = strlen(in);
  while (left > 0) {
    buf_reserve(out, left * 2 + 16);
    if (out->failed) return -1;
    char *dst = out->p + out->len;
    size_t room = out->cap - out->len - 1;
    size_t r = iconv(cd, &src, &left, &dst, &room);
    out->len = (size_t)(dst - out->p);
    out->p[out->len] = 0;
    if (r == (size_t)-1 && errno != E2BIG) return -1;
  }
  buf_reserve(out, 16);
  if (out->failed) return -1;
  char *dst = out->p + out->len;
  size_t room = out->cap - out->len - 1;
  iconv(cd, NULL, NULL, &dst, &room);
  out->len = (size_t)(dst - out->p);
  out->p[out->len] = 0;
  return 0;
}

/* ---------------------------------------------------------------- one call */

typedef struct {
  const char *function;
  int retry_safe; /* a read: may be resent when a kept-alive connection turned out closed */
  buf_t body;
  long error; /* an input error found while building the body */
  char message[400];
} call_t;

static void call_begin(call_t *c, const char *function, int retry_safe) {
  memset(c, 0, sizeof *c);
  c->function = function;
  c->retry_safe = retry_safe;
  buf_str(&c->body, "{\"function\":");
  json_string(&c->body, function);
}

static void call_int(call_t *c, const char *name, long v) {
  buf_str(&c->body, ",");
  json_string(&c->body, name);
  buf_fmt(&c->body, ":%ld", v);
}

/* A string input in the caller's charset. Called under the lock (uses the converter). */
static void call_str(call_t *c, const char *name, const char *v) {
  buf_str(&c->body, ",");
  json_string(&c->body, name);
  buf_str(&c->body, ":");
  buf_t utf8 = {0};
  if (v && convert(g_from_caller, v, &utf8) != 0) {
    if (!c->error) {
      c->error = E_CHARSET;
      snprintf(c->message, sizeof c->message, "参数 %s 不是有效的 %s 文本 (%s is not valid %s text)", name,
               g_charset, name, g_charset);
    }
  }
  json_string(&c->body, utf8.p ? utf8.p : "");
  buf_free(&utf8);
}

typedef struct {
  const char *name;
  char *dest;
} output_t;

/* Writes text (UTF-8) into dest in the caller's charset; 0, or the code of the failure. */
static long write_output(char *dest, const char *text, size_t limit) {
  if (!dest) return 0;
  buf_t out = {0};
  if (convert(g_to_caller, text ? text : "", &out) != 0) {
    /* A character the caller's charset lacks: fail clearly rather than write half a field. */
    buf_free(&out);
    dest[0] = 0;
    return E_CHARSET;
  }
  if (out.len + 1 > limit) {
    buf_free(&out);
    dest[0] = 0;
    return E_LENGTH;
  }
  memcpy(dest, out.p ? out.p : "", out.len + 1);
  buf_free(&out);
  return 0;
}

/* Writes a message (UTF-8) into the first output, cut to fit, for a failure of the library. */
static void write_message(output_t *outs, int nouts, const char *msg, size_t limit) {
  for (int i = 0; i < nouts; i++)
    if (outs[i].dest) outs[i].dest[0] = 0;
  if (nouts == 0 || !outs[0].dest) return;
  buf_t out = {0};
  if (g_to_caller == (iconv_t)-1 || convert(g_to_caller, msg, &out) != 0) {
    buf_free(&out);
    buf_str(&out, "");
    /* the ASCII part of the message is always representable */
    for (const char *p = msg; *p; p++)
      if ((unsigned char)*p < 0x80) buf_add(&out, p, 1);
  }
  size_t n = out.len < limit ? out.len : limit - 1;
  memcpy(outs[0].dest, out.p ? out.p : "", n);
  outs[0].dest[n] = 0;
  buf_free(&out);
}

static long call_finish(call_t *c, output_t *outs, int nouts) {
  size_t limit = (size_t)env_long("SSCARD_DRIVER_OUTBUF_SIZE", 1024, 16, 1 << 24);
  long timeout_s = env_long("SSCARD_DRIVER_TIMEOUT", 120, 1, 86400);
  long code;
  buf_t req = {0}, body = {0};
  field_t fields[5] = {{"success", {0}, 0}, {NULL, {0}, 0}, {NULL, {0}, 0}, {NULL, {0}, 0}, {NULL, {0}, 0}};
  int nfields = 1;
  for (int i = 0; i < nouts && nfields < 5; i++) fields[nfields++].name = outs[i].name;

  if (c->error) {
    write_message(outs, nouts, c->message, limit);
    code = c->error;
    goto done;
  }
  buf_str(&c->body, "}");
  if (c->body.failed) {
    write_message(outs, nouts, "out of memory", limit);
    code = E_PARAM;
    goto done;
  }
  buf_fmt(&req, "POST %s/api/%s HTTP/1.1\r\nHost: %s\r\n", g_prefix, c->function, g_hosthdr);
  buf_fmt(&req, "Content-Type: application/json; charset=utf-8\r\nContent-Length: %zu\r\n", c->body.len);
  buf_str(&req, "Connection: keep-alive\r\nUser-Agent: libSSCardDriver\r\n\r\n");
  buf_add(&req, c->body.p, c->body.len);

  long long deadline = now_ms() + timeout_s * 1000;
  char err[400] = "";
  int status = -1, close_after = 0;
  for (int attempt = 0; attempt < 2; attempt++) {
    int reused = g_fd >= 0;
    if (reused && connection_stale()) {
      drop_connection();
      reused = 0;
    }
    if (g_fd < 0 && connect_service(err, sizeof err) != 0) break;
    buf_free(&body);
    status = exchange(&req, &body, deadline, &close_after);
    if (status > 0) break;
    int saved = errno;
    drop_connection();
    /* A kept-alive connection closed under us before any answer: the service did not take
       the request, or (rarely) took it and closed; only reads are sent again. */
    if (status == 0 && reused && c->retry_safe) continue;
    snprintf(err, sizeof err, "读卡服务无应答 the SSCard reader service at %.200s %s (%s)", g_url,
             status == 0 ? "closed the connection" : "did not answer in time or broke the answer",
             strerror(status == 0 ? ECONNRESET : saved));
    status = -1;
    break;
  }
  if (status <= 0) {
    write_message(outs, nouts, err, limit);
    code = E_CONNECT;
    goto done;
  }
  if (close_after) drop_connection();
  if (json_parse_object(body.p ? body.p : "", fields, nfields) != 0 || !fields[0].found) {
    char msg[400];
    snprintf(msg, sizeof msg, "读卡服务应答无效 the service at %.200s answered HTTP %d without an interface result", g_url,
             status);
    write_message(outs, nouts, msg, limit);
    code = status == 404 ? E_CONNECT : E_CHECK;
    goto done;
  }
  {
    const char *s = fields[0].value.p ? fields[0].value.p : "";
    char *end;
    long n = strtol(s, &end, 10);
    if (*s == 0 || *end != 0) {
      write_message(outs, nouts, "读卡服务应答无效 the service's success field is not a number", limit);
      code = E_CHECK;
      goto done;
    }
    code = n == 1 ? 0 : n;
  }
  for (int i = 0; i < nouts; i++) {
    const field_t *f = &fields[i + 1];
    long w = write_output(outs[i].dest, f->found && f->value.p ? f->value.p : "", limit);
    if (w != 0) {
      for (int j = 0; j < nouts; j++)
        if (outs[j].dest) outs[j].dest[0] = 0;
      code = w;
      break;
    }
  }
done:
  for (int i = 0; i < 5; i++) buf_free(&fields[i].value);
  buf_free(&req);
  buf_free(&body);
  buf_free(&c->body);
  return code;
}

/*
 * Locks, applies the settings, runs the body (which adds the parameters and finishes the call),
 * unlocks. A settings error answers -11 with its message in the first output.
 */
#define CALL(FN, RETRY, OUTS, PARAMS)                                               \
  do {                                                                              \
    output_t outs_[] = OUTS;                                                        \
    int nouts_ = (int)(sizeof outs_ / sizeof outs_[0]);                             \
    pthread_mutex_lock(&g_lock);                                                    \
    char err_[300];                                                                 \
    long rc_;                                                                       \
    if (configure(err_, sizeof err_) != 0) {                                        \
      write_message(outs_, nouts_, err_, (size_t)env_long("SSCARD_DRIVER_OUTBUF_SIZE", 1024, 16, 1 << 24)); \
      rc_ = E_CONNECT;                                                              \
    } else {                                                                        \
      call_t c_;                                                                    \
      call_begin(&c_, FN, RETRY);                                                   \
      PARAMS;                                                                       \
      rc_ = call_finish(&c_, outs_, nouts_);                                        \
    }                                                                               \
    pthread_mutex_unlock(&g_lock);                                                  \
    return rc_;                                                                     \
  } while (0)

#define OUT1(a) {{"pOutInfo", a}}
#define READ 1
#define WRITE 0

/* ---------------------------------------------------------------- the interface */

EXPORT long iReadCardBas(int iType, char *pOutInfo) {
  CALL("iReadCardBas", READ, OUT1(pOutInfo), call_int(&c_, "iType", iType));
}

EXPORT long iReadCardBas_HSM_Step1(int iType, char *pOutInfo) {
  CALL("iReadCardBas_HSM_Step1", READ, OUT1(pOutInfo), call_int(&c_, "iType", iType));
}

EXPORT long iReadCardBas_HSM_Step2(char *pKey, char *pOutInfo) {
  CALL("iReadCardBas_HSM_Step2", WRITE, OUT1(pOutInfo), call_str(&c_, "pKey", pKey));
}

EXPORT long iReadCard(int iType, int iAuthType, char *pCardInfo, char *pFileAddr, char *pOutInfo) {
  CALL("iReadCard", READ, OUT1(pOutInfo), {
    call_int(&c_, "iType", iType);
    call_int(&c_, "iAuthType", iAuthType);
    call_str(&c_, "pCardInfo", pCardInfo);
    call_str(&c_, "pFileAddr", pFileAddr);
  });
}

EXPORT long iReadCard_HSM_Step1(int iType, char *pCardInfo, char *pFileAddr, char *pOutInfo) {
  CALL("iReadCard_HSM_Step1", READ, OUT1(pOutInfo), {
    call_int(&c_, "iType", iType);
    call_str(&c_, "pCardInfo", pCardInfo);
    call_str(&c_, "pFileAddr", pFileAddr);
  });
}

EXPORT long iReadCard_HSM_Step2(char *pKey, char *pOutInfo) {
  CALL("iReadCard_HSM_Step2", WRITE, OUT1(pOutInfo), call_str(&c_, "pKey", pKey));
}

EXPORT long iWriteCard(int iType, char *pCardInfo, char *pFileAddr, char *pWriteData, char *pOutInfo) {
  CALL("iWriteCard", WRITE, OUT1(pOutInfo), {
    call_int(&c_, "iType", iType);
    call_str(&c_, "pCardInfo", pCardInfo);
    call_str(&c_, "pFileAddr", pFileAddr);
    call_str(&c_, "pWriteData", pWriteData);
  });
}

EXPORT long iWriteCard_HSM_Step1(int iType, char *pCardInfo, char *pFileAddr, char *pOutInfo) {
  CALL("iWriteCard_HSM_Step1", WRITE, OUT1(pOutInfo), {
    call_int(&c_, "iType", iType);
    call_str(&c_, "pCardInfo", pCardInfo);
    call_str(&c_, "pFileAddr", pFileAddr);
  });
}

EXPORT long iWriteCard_HSM_Step2(char *pKey, char *pWriteData, char *pOutInfo) {
  CALL("iWriteCard_HSM_Step2", WRITE, OUT1(pOutInfo), {
    call_str(&c_, "pKey", pKey);
    call_str(&c_, "pWriteData", pWriteData);
  });
}

EXPORT long iVerifyPIN(int iType, char *pOutInfo) {
  CALL("iVerifyPIN", WRITE, OUT1(pOutInfo), call_int(&c_, "iType", iType));
}

EXPORT long iChangePIN(int iType, char *pOutInfo) {
  CALL("iChangePIN", WRITE, OUT1(pOutInfo), call_int(&c_, "iType", iType));
}

#define PIN_SERVICE(NAME)                                                          \
  EXPORT long NAME(int iType, char *pCardInfo, char *pOutInfo) {                   \
    CALL(#NAME, WRITE, OUT1(pOutInfo), {                                           \
      call_int(&c_, "iType", iType);                                               \
      call_str(&c_, "pCardInfo", pCardInfo);                                       \
    });                                                                            \
  }                                                                                \
  EXPORT long NAME##_HSM_Step1(int iType, char *pCardInfo, char *pOutInfo) {       \
    CALL(#NAME "_HSM_Step1", WRITE, OUT1(pOutInfo), {                               \
      call_int(&c_, "iType", iType);                                               \
      call_str(&c_, "pCardInfo", pCardInfo);                                       \
    });                                                                            \
  }                                                                                \
  EXPORT long NAME##_HSM_Step2(char *pKey, char *pOutInfo) {                       \
    CALL(#NAME "_HSM_Step2", WRITE, OUT1(pOutInfo), call_str(&c_, "pKey", pKey));  \
  }                                                                                \
  EXPORT long NAME##_HSM_Step3(char *pKey, char *pOutInfo) {                       \
    CALL(#NAME "_HSM_Step3", WRITE, OUT1(pOutInfo), call_str(&c_, "pKey", pKey));  \
  }

PIN_SERVICE(iReloadPIN)
PIN_SERVICE(iUnblockPIN)

EXPORT long iDoDebit(int iType, char *pCardInfo, char *pPayInfo, char *pOutInfo) {
  CALL("iDoDebit", WRITE, OUT1(pOutInfo), {
    call_int(&c_, "iType", iType);
    call_str(&c_, "pCardInfo", pCardInfo);
    call_str(&c_, "pPayInfo", pPayInfo);
  });
}

EXPORT long iDoDebit_HSM_Step1(int iType, char *pCardInfo, char *pPayInfo, char *pOutInfo) {
  CALL("iDoDebit_HSM_Step1", WRITE, OUT1(pOutInfo), {
    call_int(&c_, "iType", iType);
    call_str(&c_, "pCardInfo", pCardInfo);
    call_str(&c_, "pPayInfo", pPayInfo);
  });
}

EXPORT long iDoDebit_HSM_Step2(char *pKey, char *pOutInfo) {
  CALL("iDoDebit_HSM_Step2", WRITE, OUT1(pOutInfo), call_str(&c_, "pKey", pKey));
}

EXPORT long iReadDebitRecord(int iType, char *pOutInfo) {
  CALL("iReadDebitRecord", READ, OUT1(pOutInfo), call_int(&c_, "iType", iType));
}

#define OUT2(n1, a, n2, b) {{n1, a}, {n2, b}}

EXPORT long iGetCardType(unsigned char *pCardType, char *pOutInfo) {
  CALL("iGetCardType", READ, OUT2("pCardType", (char *)pCardType, "pOutInfo", pOutInfo), (void)0);
}

EXPORT long iGetReaderInfo(char *pReaderSN, char *pPsamTermNo) {
  CALL("iGetReaderInfo", READ, OUT2("pReaderSN", pReaderSN, "pPsamTermNo", pPsamTermNo), (void)0);
}
