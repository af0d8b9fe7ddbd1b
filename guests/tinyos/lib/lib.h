/*
 * The few C library functions tinyos needs, written here because it links
 * no libc: memory and string helpers (gcc may also call memset/memcpy on
 * its own for struct copies) and a small snprintf. Compiled into both the
 * kernel and each user program.
 */
#ifndef TINYOS_LIB_H
#define TINYOS_LIB_H

#include <stdarg.h> /* gcc's own header: fine in freestanding code */
#include "types.h"

void *memset(void *dst, int c, uint64 n);
void *memcpy(void *dst, const void *src, uint64 n);
uint64 strlen(const char *s);
int strcmp(const char *a, const char *b);
void strlcpy(char *dst, const char *src, uint64 size);

/* %d %u %x %s %c %% with an optional '-' or '0' flag and width; l for 64-bit
   numbers. Returns the length the whole output would have (as C's). */
int vsnprintf(char *buf, int size, const char *fmt, va_list ap);
int snprintf(char *buf, int size, const char *fmt, ...);

#endif
