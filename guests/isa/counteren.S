# mcounteren/scounteren (privileged spec 1.12, 3.1.11 and 4.1.5): the user
# counters cycle/time/instret read in S-mode need the mcounteren bit (CY=0,
# TM=1, IR=2); in U-mode they need the bit in both mcounteren and scounteren.
# Otherwise the read is an illegal instruction (tval = its bits, QEMU's choice).
#include "test.h"

/* Cases a, b, c: cycle, time, instret reads must all succeed (a trap fails
 * with 0x7f through the unarmed handler). */
#define READ_OK(a, b, c)                \
  TEST_CASE(a, a0, 0, li a0, 1; rdcycle t1; li a0, 0) \
  TEST_CASE(b, a0, 0, li a0, 1; rdtime t1; li a0, 0) \
  TEST_CASE(c, a0, 0, li a0, 1; rdinstret t1; li a0, 0)

#define SET_EN(m, s) li t0, m; csrw mcounteren, t0; li t0, s; csrw scounteren, t0

TEST_BEGIN
  INSTALL_TRAP_HANDLER
  PMP_ALLOW_ALL

  # M-mode reads the counters whatever the enables say.
  SET_EN(0, 0)
  READ_OK(1, 2, 3)

  # --- S-mode: mcounteren only.
  ENTER_MODE(PRV_S)
  TEST_ILLEGAL(4, rdcycle a0)
  TEST_ILLEGAL(5, rdtime a0)
  TEST_ILLEGAL(6, rdinstret a0)
  RETURN_TO_M
  SET_EN(7, 0)
  ENTER_MODE(PRV_S)
  READ_OK(7, 8, 9)
  RETURN_TO_M
  # each bit enables its own counter only.
  SET_EN(1, 0)
  ENTER_MODE(PRV_S)
  TEST_CASE(10, a0, 0, li a0, 1; rdcycle t1; li a0, 0)
  TEST_ILLEGAL(11, rdtime a0)
  TEST_ILLEGAL(12, rdinstret a0)
  RETURN_TO_M
  SET_EN(6, 0)
  ENTER_MODE(PRV_S)
  TEST_ILLEGAL(13, rdcycle a0)
  TEST_CASE(14, a0, 0, li a0, 1; rdtime t1; rdinstret t1; li a0, 0)
  RETURN_TO_M
  # scounteren does not matter in S.
  SET_EN(0, 7)
  ENTER_MODE(PRV_S)
  TEST_ILLEGAL(15, rdcycle a0)
  RETURN_TO_M

  # --- U-mode: both registers.
  SET_EN(7, 0)
  ENTER_MODE(PRV_U)
  TEST_ILLEGAL(16, rdcycle a0)
  TEST_ILLEGAL(17, rdtime a0)
  TEST_ILLEGAL(18, rdinstret a0)
  RETURN_TO_M
  SET_EN(0, 7)
  ENTER_MODE(PRV_U)
  TEST_ILLEGAL(19, rdcycle a0)
  TEST_ILLEGAL(20, rdtime a0)
  TEST_ILLEGAL(21, rdinstret a0)
  RETURN_TO_M
  SET_EN(7, 7)
  ENTER_MODE(PRV_U)
  READ_OK(22, 23, 24)
  RETURN_TO_M
  SET_EN(7, 4)                                 # IR in both, CY/TM only in M
  ENTER_MODE(PRV_U)
  TEST_ILLEGAL(25, rdcycle a0)
  TEST_ILLEGAL(26, rdtime a0)
  TEST_CASE(27, a0, 0, li a0, 1; rdinstret t1; li a0, 0)
  RETURN_TO_M
  SET_EN(0, 0)
TEST_END
PRIV_HANDLERS
