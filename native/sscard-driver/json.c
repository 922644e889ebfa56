/* libSSCardDriver.so: a growable buffer, and the flat JSON of the service's requests and answers. */
#define _GNU_SOURCE
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- growable buffer */

void buf_reserve(buf_t *b, size_t extra) {
  if (b->failed || b->len + extra + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) {
    b->failed = 1;
    return;
  }
  b->p = p;
  b->cap = cap;
}

void buf_add(buf_t *b, const char *s, size_t n) {
  buf_reserve(b, n);
  if (b->failed) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

void buf_str(buf_t *b, const char *s) { buf_add(b, s, strlen(s)); }

void buf_fmt(buf_t *b, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void buf_free(buf_t *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

/* ---------------------------------------------------------------- JSON */

void json_string(buf_t *b, const char *s) {
  buf_add(b, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"') buf_add(b, "\\\"", 2);
    else if (*p == '\\') buf_add(b, "\\\\", 2);
    else if (*p < 0x20) buf_fmt(b, "\\u%04x", *p);
    else buf_add(b, (const char *)p, 1);
  }
  buf_add(b, "\"", 1);
}

static const char *json_ws(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
  return p;
}

static void utf8_put(buf_t *b, unsigned long cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) u[0] = (char)cp, n = 1;
  else if (cp < 0x800) u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
  else if (cp < 0x10000)
    u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 0x3F)), u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
  else
    u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 0x3F)),
    u[2] = (char)(0x80 | (cp >> 6 & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
  buf_add(b, u, n);
}

static int hex4(const char *p, unsigned long *v) {
  char tmp[5];
  memcpy(tmp, p, 4);
  tmp[4] = 0;
  char *end;
  *v = strtoul(tmp, &end, 16);
  return *end == 0 && strlen(tmp) == 4 ? 0 : -1;
}

/* Parses a JSON string at *pp (at its opening quote) into out (UTF-8). */
static int json_parse_string(const char **pp, buf_t *out) {
  const char *p = *pp + 1;
  buf_add(out, "", 0);
  for (;;) {
    unsigned char c = (unsigned char)*p;
    if (c == 0 || c < 0x20) return -1;
    if (c == '"') break;
    if (c != '\\') {
      buf_add(out, p, 1);
      p++;
      continue;
    }
    p++;
    switch (*p) {
      case '"': buf_add(out, "\"", 1); break;
      case '\\': buf_add(out, "\\", 1); break;
      case '/': buf_add(out, "/", 1); break;
      case 'b': buf_add(out, "\b", 1); break;
      case 'f': buf_add(out, "\f", 1); break;
      case 'n': buf_add(out, "\n", 1); break;
      case 'r': buf_add(out, "\r", 1); break;
      case 't': buf_add(out, "\t", 1); break;
      case 'u': {
        unsigned long cp, lo;
        if (hex4(p + 1, &cp) != 0) return -1;
        p += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF && p[1] == '\\' && p[2] == 'u' && hex4(p + 3, &lo) == 0 &&
            lo >= 0xDC00 && lo <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          p += 6;
        } else if (cp >= 0xD800 && cp <= 0xDFFF) {
          cp = 0xFFFD;
        }
        utf8_put(out, cp);
        break;
      }
      default: return -1;
    }
    p++;
  }
  *pp = p + 1;
  return out->failed ? -1 : 0;
}

/* Parses a flat JSON object, keeping the wanted members; nested values are skipped. */
int json_parse_object(const char *p, field_t *fields, int nfields) {
  p = json_ws(p);
  if (*p != '{') return -1;
  p = json_ws(p + 1);
  if (*p == '}') return 0;
  for (;;) {
    if (*p != '"') return -1;
    buf_t key = {0};
    if (json_parse_string(&p, &key) != 0) {
      buf_free(&key);
      return -1;
    }
    field_t *f = NULL;
    for (int i = 0; i < nfields; i++)
      if (strcmp(fields[i].name, key.p) == 0) f = &fields[i];
    buf_free(&key);
    p = json_ws(p);
    if (*p != ':') return -1;
    p = json_ws(p + 1);
    if (*p == '"') {
      buf_t v = {0};
      if (json_parse_string(&p, &v) != 0) {
        buf_free(&v);
        return -1;
      }
      if (f) {
        buf_free(&f->value);
        f->value = v;
        f->found = 1;
      } else {
        buf_free(&v);
      }
    } else if (*p == '{' || *p == '[') {
      int depth = 0, in_str = 0;
      for (; *p; p++) {
        if (in_str) {
          if (*p == '\\' && p[1]) p++;
          else if (*p == '"') in_str = 0;
        } else if (*p == '"') in_str = 1;
        else if (*p == '{' || *p == '[') depth++;
        else if ((*p == '}' || *p == ']') && --depth == 0) {
          p++;
          break;
        }
      }
      if (depth != 0) return -1;
    } else {
      const char *start = p;
      while (*p && *p != ',' && *p != '}' && *p != ' ' && *p != '\r' && *p != '\n' && *p != '\t') p++;
      if (p == start) return -1;
      if (f) {
        buf_free(&f->value);
        buf_add(&f->value, start, (size_t)(p - start));
        f->found = 1;
      }
    }
    p = json_ws(p);
    if (*p == ',') {
      p = json_ws(p + 1);
      continue;
    }
    if (*p == '}') return 0;
    return -1;
  }
}

