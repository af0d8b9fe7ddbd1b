# A hot loop reached only through the wasm dispatcher while cold code keeps
# the code cache full, for the eviction clock (tests/translate_test.ts runs it
# with every block compiled at its first visit and a cache of a few dozen
# blocks). Each pass of the main loop calls `hot` (its own page, a loop) and
# then a function of a new page, run this once and never again: compiling it
# fills the cache, whose clock must empty the cold pages and keep `hot` and the
# main loop, which after the first pass only blocks reach, never the run loop.
# The start code and PRELUDE cold pages come first, so they are the oldest in
# the cache: the clock's first pass finds every page entered since it was
# compiled, and then takes the oldest.
#include "test.h"

#define PRELUDE 8
#define PASSES 96
#define INNER 20

TEST_BEGIN
  li a0, 0
  li a1, 0
  la s2, cold
  li s3, 4096
  li s1, PRELUDE
1:jalr s2
  add s2, s2, s3
  addi s1, s1, -1
  bnez s1, 1b
  j main

  .balign 4096
main:
  li s1, PASSES
2:call hot
  jalr s2
  add s2, s2, s3
  addi s1, s1, -1
  bnez s1, 2b
  TEST_CASE(1, a0, PASSES * INNER, nop)
  TEST_CASE(2, a1, PRELUDE + PASSES, nop)
  TEST_END

  # Half a page in: the dispatch cache's slots (by pc) then differ from the cold entries'.
  .balign 4096
  .skip 2048
  .globl hot
hot:
  li t3, INNER
3:addi a0, a0, 1
  addi t3, t3, -1
  bnez t3, 3b
  ret

  .balign 4096
  .globl cold
cold:
  .rept PRELUDE + PASSES
  .balign 4096
  addi a1, a1, 1
  ret
  .endr
