/* The hot loop the translator's fault cases share (guests/jit/fault.S, atomic.S):
 * HOT passes of one block around an access, the last pass aiming it elsewhere. */
#define HOT 200
#define NOWHERE 0           /* no device at 0 on QEMU's virt */

/* Case n: HOT passes of a block around `access` (through t3: data, or the
 * address in a4 on the last pass). a0 counts the passes (before the access),
 * a2 the instructions after it, a1 sums what the loads read. */
#define HOT_ACCESS(n, access...)        \
test_##n:                               \
  li TESTNUM, n;                        \
  li a0, 0;                             \
  li a1, 0;                             \
  li a2, 0;                             \
  la a3, data;                          \
  sub a4, a4, a3;                       \
  li s3, HOT;                           \
1:addi a0, a0, 1;                       \
  addi t4, s3, -1;                      \
  seqz t4, t4;                          \
  mul t5, t4, a4;                       \
  add t3, t5, a3;                       \
trap_epc_##n:                           \
  access;                               \
trap_ret_##n:                           \
  addi a2, a2, 1;                       \
  addi s3, s3, -1;                      \
  bnez s3, 1b
