# The victim beside the cross-guest attackers (tests/isolation_test.ts): it
# spins in place and never writes memory, so after its first instructions
# (which fill its shadow tables) its RAM window, ROM page and shadow pool stay
# exactly as they are unless another guest reaches them. Never ends.
  .section .text.init
  .globl _start
_start:
1: j 1b
