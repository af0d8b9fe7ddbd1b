/*
 * Fixed-size integer names used everywhere in tinyos (kernel and user).
 * tinyos links no C library, so it spells them out itself; RV64 with the
 * lp64 ABI has 32-bit int and 64-bit long and pointers.
 */
#ifndef TINYOS_TYPES_H
#define TINYOS_TYPES_H

typedef unsigned char uint8;
typedef unsigned short uint16;
typedef unsigned int uint32;
typedef unsigned long uint64;
typedef long int64;

#endif
