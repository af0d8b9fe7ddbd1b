/*
 * sh: the tinyos shell. Reads a line, splits it into words, runs the
 * command; each command exercises one part of the kernel (see help).
 */
#include "user.h"

#define MAXARGS 16

static const char *const state_names[] = {"unused", "runnable", "running", "sleeping"};

static void cmd_help(void) {
  static const char *const lines[] = {
      "help       this list",
      "echo ARGS  print ARGS",
      "ps         list processes: pid, state, timer ticks, name",
      "uptime     time since boot, in seconds and timer ticks",
      "mem N      touch N fresh heap pages (page faults), check, free them",
      "harts      harts online: timer ticks, processes started",
      "spin N     run N busy processes for 0.1 s; on which harts?",
      "poweroff   stop the machine",
  };
  printf("commands:\n");
  for (uint64 i = 0; i < sizeof lines / sizeof lines[0]; i++) printf("  %s\n", lines[i]);
}

static void cmd_echo(int argc, char **argv) {
  for (int i = 1; i < argc; i++) printf(i + 1 < argc ? "%s " : "%s", argv[i]);
  printf("\n");
}

/* With several harts, a HART column says which hart ran each process last
   (- if none yet); with one, ps looks as it always did. */
static void cmd_ps(void) {
  struct procinfo info[8];
  int n = ps(info, 8), smp = harts(0, 0) > 1;
  printf(smp ? "PID  STATE     TICKS  HART  NAME\n" : "PID  STATE     TICKS  NAME\n");
  for (int i = 0; i < n; i++) {
    char hart[8] = "";
    if (smp) snprintf(hart, sizeof hart, info[i].hart < 0 ? "-     " : "%-4d  ", info[i].hart);
    printf("%-4d %-9s %5lu  %s%s\n", info[i].pid, state_names[info[i].state], info[i].ticks,
           hart, info[i].name);
  }
}

static void cmd_harts(void) {
  struct hartinfo info[8];
  int n = harts(info, 8);
  printf("%d hart%s online\n", n, n == 1 ? "" : "s");
  printf("HART  TICKS  STARTED\n");
  for (int i = 0; i < n && i < 8; i++)
    printf("%-4d  %5lu  %7lu\n", i, info[i].ticks, info[i].scheduled);
}

static void cmd_uptime(void) {
  struct uptime u;
  uptime(&u);
  uint64 ms = u.time / (TIMEBASE_HZ / 1000);
  printf("up %lu.%03lu s, %lu ticks\n", ms / 1000, ms % 1000, u.ticks);
}

static int parse_number(const char *s, uint64 *out) {
  uint64 v = 0;
  if (!*s) return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > 100000000) return -1;
    v = v * 10 + (uint64)(*s - '0');
  }
  *out = v;
  return 0;
}

/* The word written at offset i of page p: different on every page, so
   pages mapped to the same frame by mistake would show. */
static uint64 pattern(uint64 p, uint64 i) { return (p << 32) ^ (i * 0x9e3779b97f4a7c15UL); }

/* Grows the heap by n pages and writes every word of them: each first touch
   is a page fault that makes the kernel map a fresh page. Then reads it all
   back, shrinks the heap (the kernel unmaps and frees the pages, with an
   sfence.vma), and checks that faults and freed pages add up. (Page-table
   pages the kernel added on the way stay: free memory can end lower.) */
static void cmd_mem(int argc, char **argv) {
  uint64 n;
  if (argc != 2 || parse_number(argv[1], &n) || n == 0) {
    printf("usage: mem N (pages, at least 1)\n");
    return;
  }
  struct meminfo before, touched, after;
  meminfo(&before);
  uint64 *base = sbrk((int64)(n * 4096));
  if (base == (uint64 *)-1) {
    printf("mem: cannot grow the heap by %lu pages (%lu free)\n", n, before.free_pages);
    return;
  }
  uint64 words = n * 4096 / sizeof(uint64);
  for (uint64 i = 0; i < words; i++) base[i] = pattern(i / 512, i);
  meminfo(&touched);
  uint64 bad = 0;
  for (uint64 i = 0; i < words; i++) bad += base[i] != pattern(i / 512, i);
  sbrk(-(int64)(n * 4096));
  meminfo(&after);
  uint64 faults = touched.faults - before.faults;
  uint64 freed = after.free_pages - touched.free_pages;
  int ok = bad == 0 && faults == n && freed == n;
  printf("mem: %lu pages at 0x%lx: %lu page faults, %lu bad words, %lu pages freed: %s\n", n,
         (uint64)base, faults, bad, freed, ok ? "ok" : "FAILED");
}

/* Starts n spin processes and waits for them to end, looking at the process
   table once a tick meanwhile: prints the harts it saw them run on. */
static void cmd_spin(int argc, char **argv) {
  uint64 n;
  if (argc != 2 || parse_number(argv[1], &n) || n == 0 || n > 6) {
    printf("usage: spin N (1 to 6 processes)\n");
    return;
  }
  int first = -1, last = -1;
  for (uint64 i = 0; i < n; i++) {
    int pid = spawn("spin");
    if (pid < 0) break;
    if (first < 0) first = pid;
    last = pid;
  }
  if (first < 0) {
    printf("spin: no room for another process\n");
    return;
  }
  printf("spin: started pids %d to %d\n", first, last);
  uint32 seen = 0; /* bit h: a spinner ran on hart h */
  for (int running = 1; running;) {
    sleep(1);
    struct procinfo info[8];
    int k = ps(info, 8);
    running = 0;
    for (int i = 0; i < k; i++) {
      if (info[i].pid < first || info[i].pid > last) continue;
      running = 1;
      if (info[i].hart >= 0) seen |= 1U << info[i].hart;
    }
  }
  printf("spin: done, ran on harts");
  for (int h = 0; h < 32; h++)
    if (seen & (1U << h)) printf(" %d", h);
  printf("\n");
}

/* Splits line in place at spaces and tabs; returns the number of words. */
static int split(char *line, char **argv) {
  int argc = 0;
  for (char *s = line; *s;) {
    while (*s == ' ' || *s == '\t') *s++ = 0;
    if (!*s) break;
    if (argc == MAXARGS) break;
    argv[argc++] = s;
    while (*s && *s != ' ' && *s != '\t') s++;
  }
  return argc;
}

int main(void) {
  char line[128];
  char *argv[MAXARGS];
  for (;;) {
    printf("$ ");
    int64 n = read(0, line, sizeof line - 1);
    if (n <= 0) continue;
    line[n] = 0;
    if (line[n - 1] == '\n') line[n - 1] = 0;
    int argc = split(line, argv);
    if (argc == 0) continue;
    if (!strcmp(argv[0], "help")) cmd_help();
    else if (!strcmp(argv[0], "echo")) cmd_echo(argc, argv);
    else if (!strcmp(argv[0], "ps")) cmd_ps();
    else if (!strcmp(argv[0], "uptime")) cmd_uptime();
    else if (!strcmp(argv[0], "mem")) cmd_mem(argc, argv);
    else if (!strcmp(argv[0], "harts")) cmd_harts();
    else if (!strcmp(argv[0], "spin")) cmd_spin(argc, argv);
    else if (!strcmp(argv[0], "poweroff")) poweroff();
    else printf("sh: unknown command: %s (try help)\n", argv[0]);
  }
}
