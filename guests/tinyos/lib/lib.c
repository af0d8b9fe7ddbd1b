/*
 * Memory, string and formatting helpers shared by the kernel and the user
 * programs (see lib.h). Simple byte loops: tinyos never copies much.
 */
#include "lib.h"

void *memset(void *dst, int c, uint64 n) {
  uint8 *d = dst;
  while (n--) *d++ = (uint8)c;
  return dst;
}

void *memcpy(void *dst, const void *src, uint64 n) {
  uint8 *d = dst;
  const uint8 *s = src;
  while (n--) *d++ = *s++;
  return dst;
}

uint64 strlen(const char *s) {
  uint64 n = 0;
  while (s[n]) n++;
  return n;
}

int strcmp(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return (uint8)*a - (uint8)*b;
}

/* Copies at most size-1 bytes and always terminates (size > 0). */
void strlcpy(char *dst, const char *src, uint64 size) {
  uint64 i = 0;
  for (; i + 1 < size && src[i]; i++) dst[i] = src[i];
  dst[i] = 0;
}

/* Output cursor of vsnprintf: drops what does not fit, counts everything. */
struct out {
  char *buf;
  int size, len;
};

static void put(struct out *o, char c) {
  if (o->len + 1 < o->size) o->buf[o->len] = c;
  o->len++;
}

static void put_number(struct out *o, uint64 v, int base, int negative, int width, char pad,
                       int left) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v);
  if (negative) digits[n++] = '-';
  for (int i = n; !left && i < width; i++) put(o, pad);
  for (int i = n; i > 0; i--) put(o, digits[i - 1]);
  for (int i = n; left && i < width; i++) put(o, ' ');
}

int vsnprintf(char *buf, int size, const char *fmt, va_list ap) {
  struct out o = {buf, size, 0};
  for (; *fmt; fmt++) {
    if (*fmt != '%') {
      put(&o, *fmt);
      continue;
    }
    fmt++;
    int left = 0, width = 0, islong = 0;
    char pad = ' ';
    if (*fmt == '-') left = 1, fmt++;
    if (*fmt == '0') pad = '0', fmt++;
    while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
    while (*fmt == 'l') islong = 1, fmt++;
    switch (*fmt) {
    case 'd': {
      int64 v = islong ? va_arg(ap, int64) : va_arg(ap, int);
      put_number(&o, v < 0 ? -(uint64)v : (uint64)v, 10, v < 0, width, pad, left);
      break;
    }
    case 'u':
    case 'x': {
      uint64 v = islong ? va_arg(ap, uint64) : va_arg(ap, uint32);
      put_number(&o, v, *fmt == 'u' ? 10 : 16, 0, width, pad, left);
      break;
    }
    case 'c':
      put(&o, (char)va_arg(ap, int));
      break;
    case 's': {
      const char *s = va_arg(ap, const char *);
      int n = (int)strlen(s);
      for (int i = n; !left && i < width; i++) put(&o, ' ');
      while (*s) put(&o, *s++);
      for (int i = n; left && i < width; i++) put(&o, ' ');
      break;
    }
    case '%':
      put(&o, '%');
      break;
    default: /* unknown conversion or the string's end: show it, so the mistake is visible */
      put(&o, '%');
      if (!*fmt) fmt--;
      else put(&o, *fmt);
      break;
    }
  }
  if (size > 0) buf[o.len < size ? o.len : size - 1] = 0;
  return o.len;
}

int snprintf(char *buf, int size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  return n;
}
