/*
 * The user programs, embedded in the kernel image so that tinyos.elf is a
 * single file (there is no file system). The build (scripts/build-tinyos.ts)
 * links each one at USERBASE, turns it into a flat binary and puts its
 * directory on the assembler's include path.
 */
  .file "programs.S" /* else the symbol table names a random temporary file */
  .section .rodata
  .balign 4096
  .globl sh_start, sh_end, ticker_start, ticker_end, spin_start, spin_end
sh_start:
  .incbin "sh.bin"
sh_end:
  .balign 4096
ticker_start:
  .incbin "ticker.bin"
ticker_end:
  .balign 4096
spin_start:
  .incbin "spin.bin"
spin_end:
