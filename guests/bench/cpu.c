/*
 * cpu: rvisor's CPU-bound benchmark guest (deterministic, integer only).
 *
 * A mix in the spirit of CoreMark, written here from scratch: each iteration
 *   - walks, searches and reverses a linked list of LIST_NODES nodes,
 *   - multiplies integer matrices (8x8, 16x16 and 32x32, one size per iteration
 *     in turn) and folds the product,
 *   - runs a state machine that classifies the tokens of a byte string (decimal,
 *     hex, negative numbers, junk),
 *   - and folds every partial result into CRC-16/CCITT and CRC-32 (bitwise, so
 *     the shifts and branches count).
 * The inputs change every iteration (they are seeded from the running CRC), so
 * no work can be hoisted out of the loop by the compiler.
 *
 * It runs in M-mode (crt0.S, build/cpu.elf) or in U-mode (crt0_user.S,
 * build/cpu_user.elf): it reads the counter through instret, which M-mode may
 * always read and U-mode may with mcounteren.IR (set by crt0_user.S).
 *
 * It prints "cpu: checksum 0x........ ok" and "cpu: minstret N" on the UART
 * (N: instructions retired by the loop; exact only under QEMU's -icount and on
 * rvisor, as without -icount QEMU's counter follows the host clock) and exits through the syscon:
 * code 0 if the checksum equals EXPECTED, 1 otherwise. EXPECTED was obtained by
 * running this program on QEMU 7.2 (see shared GUESTS.md for the command), so a
 * pass on rvisor means rvisor computed exactly what QEMU computed.
 * Change ITERATIONS (or the work) and EXPECTED must be measured again.
 */
#include <stdint.h>

#include "bare.h"

/* About 120 k instructions per iteration: 600 iterations ~ 72 M instructions. */
#define ITERATIONS 600
#define EXPECTED 0x6c6c7abeu

#define LIST_NODES 256
#define MAT_MAX 32

/* ------------------------------------------------------------ CRCs */

static uint16_t crc16_byte(uint16_t crc, uint8_t b) {
  crc ^= (uint16_t)b << 8;
  for (int i = 0; i < 8; i++) crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
  return crc;
}

static uint32_t crc32_byte(uint32_t crc, uint8_t b) {
  crc ^= b;
  for (int i = 0; i < 8; i++) crc = (crc & 1) ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
  return crc;
}

static uint16_t crc16_u32(uint16_t crc, uint32_t v) {
  for (int i = 0; i < 4; i++) crc = crc16_byte(crc, (uint8_t)(v >> (8 * i)));
  return crc;
}

static uint32_t crc32_u64(uint32_t crc, uint64_t v) {
  for (int i = 0; i < 8; i++) crc = crc32_byte(crc, (uint8_t)(v >> (8 * i)));
  return crc;
}

/* ------------------------------------------------------------ linked list */

struct node {
  struct node *next;
  int32_t key;
  int32_t value;
};

static struct node nodes[LIST_NODES];

/* Links the nodes in a seed-dependent order (a stride coprime with LIST_NODES). */
static struct node *list_build(uint32_t seed) {
  uint32_t stride = (seed | 1) % LIST_NODES; /* odd: coprime with a power of two */
  uint32_t at = seed % LIST_NODES;
  struct node *head = 0;
  for (int i = 0; i < LIST_NODES; i++) {
    struct node *n = &nodes[at];
    n->key = (int32_t)(at * 2654435761u >> 16);
    n->value = (int32_t)(i - LIST_NODES / 2);
    n->next = head;
    head = n;
    at = (at + stride) % LIST_NODES;
  }
  return head;
}

static struct node *list_reverse(struct node *head) {
  struct node *prev = 0;
  while (head) {
    struct node *next = head->next;
    head->next = prev;
    prev = head;
    head = next;
  }
  return prev;
}

/* Searches for a few keys (found or not) and sums the values on the way. */
static uint64_t list_work(struct node *head, uint32_t seed) {
  uint64_t acc = 0;
  for (int q = 0; q < 4; q++) {
    int32_t want = (int32_t)(((seed + (uint32_t)q * 40503u) % LIST_NODES) * 2654435761u >> 16);
    if (q & 1) want ^= 1; /* usually absent: a full walk */
    int32_t pos = 0;
    for (struct node *n = head; n; n = n->next, pos++) {
      acc += (uint64_t)(int64_t)n->value;
      if (n->key == want) {
        acc ^= (uint64_t)pos << 32;
        break;
      }
    }
  }
  return acc;
}

/* ------------------------------------------------------------ matrices */

static int32_t mat_a[MAT_MAX * MAT_MAX], mat_b[MAT_MAX * MAT_MAX];
static int64_t mat_c[MAT_MAX * MAT_MAX];

static void mat_init(int n, uint32_t seed) {
  uint32_t x = seed | 1;
  for (int i = 0; i < n * n; i++) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5; /* xorshift32 */
    mat_a[i] = (int32_t)(x & 0xffff) - 0x8000;
    mat_b[i] = (int32_t)(x >> 16) - 0x8000;
  }
}

/* C = A * B with 64-bit accumulation, then a fold of C with a shift and a test. */
static uint64_t mat_work(int n) {
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < n; j++) {
      int64_t s = 0;
      for (int k = 0; k < n; k++) s += (int64_t)mat_a[i * n + k] * mat_b[k * n + j];
      mat_c[i * n + j] = s;
    }
  }
  uint64_t acc = 0;
  for (int i = 0; i < n * n; i++) {
    int64_t v = mat_c[i];
    acc = (acc << 1 | acc >> 63) + (uint64_t)(v > 0 ? v : -v);
    if (v < 0) acc ^= (uint64_t)i;
  }
  return acc;
}

/* ------------------------------------------------------------ state machine */

enum state { START, INT, HEX0, HEX, NEG, INVALID, NSTATES };

#define TEXT_LEN 512
static char text[TEXT_LEN];

static const char *const pieces[] = {"5012", "1234", "-874", "-102", "0x47", "0xbeef", "7z",
                                     "--3",  "0x",   "99",   "+",    "0xG1", "31415",  "-0"};

/* Fills the text with comma-separated pieces chosen by the seed. */
static void text_build(uint32_t seed) {
  int at = 0;
  uint32_t x = seed | 1;
  while (at < TEXT_LEN - 8) {
    x = x * 1103515245u + 12345u;
    const char *p = pieces[(x >> 16) % (sizeof pieces / sizeof pieces[0])];
    while (*p && at < TEXT_LEN - 2) text[at++] = *p++;
    text[at++] = ',';
  }
  text[at] = 0;
}

/* Classifies every token; returns counts per final state and a value sum, folded. */
static uint64_t text_work(void) {
  uint32_t counts[NSTATES] = {0};
  uint64_t sum = 0;
  enum state s = START;
  int64_t value = 0;
  for (const char *p = text;; p++) {
    char c = *p;
    if (c == ',' || c == 0) {
      counts[s]++;
      if (s == INT || s == HEX) sum += (uint64_t)value;
      if (s == NEG) sum -= (uint64_t)value;
      if (c == 0) break;
      s = START, value = 0;
      continue;
    }
    switch (s) {
      case START:
        if (c == '0') s = HEX0, value = 0;
        else if (c >= '1' && c <= '9') s = INT, value = c - '0';
        else if (c == '-') s = NEG;
        else s = INVALID;
        break;
      case HEX0:
        if (c == 'x') s = HEX;
        else if (c >= '0' && c <= '9') s = INT, value = c - '0';
        else s = INVALID;
        break;
      case INT:
      case NEG:
        if (c >= '0' && c <= '9') value = value * 10 + (c - '0');
        else s = INVALID;
        break;
      case HEX:
        if (c >= '0' && c <= '9') value = value * 16 + (c - '0');
        else if (c >= 'a' && c <= 'f') value = value * 16 + (c - 'a' + 10);
        else s = INVALID;
        break;
      default:
        break;
    }
  }
  uint64_t acc = sum;
  for (int i = 0; i < NSTATES; i++) acc = acc * 31 + counts[i];
  return acc;
}

/* ------------------------------------------------------------ main */

int main(void) {
  uint16_t crc16 = 0xffff;
  uint32_t crc32 = 0xffffffffu;
  static const int sizes[] = {8, 16, 32, 16};
  uint64_t retired0;
  __asm__ volatile("csrr %0, instret" : "=r"(retired0));
  for (uint32_t it = 0; it < ITERATIONS; it++) {
    uint32_t seed = crc32 ^ ((uint32_t)crc16 << 16) ^ it;

    struct node *head = list_build(seed);
    uint64_t l = list_work(head, seed);
    head = list_reverse(head);
    l += list_work(head, seed >> 3);

    int n = sizes[it & 3];
    mat_init(n, seed);
    uint64_t m = mat_work(n);

    text_build(seed);
    uint64_t t = text_work();

    crc32 = crc32_u64(crc32, l);
    crc32 = crc32_u64(crc32, m);
    crc32 = crc32_u64(crc32, t);
    crc16 = crc16_u32(crc16, (uint32_t)(l ^ m ^ t));
  }
  uint32_t checksum = ~crc32 ^ ((uint32_t)crc16 << 8);
  /* Read before printing (QEMU's UART may make the THRE poll spin under -icount);
     a difference because QEMU's icount clock starts with a start-up bias. */
  uint64_t retired;
  __asm__ volatile("csrr %0, instret" : "=r"(retired));
  retired -= retired0;
  bare_puts("cpu: checksum ");
  bare_puthex(checksum, 8);
  bare_puts(checksum == EXPECTED ? " ok\n" : " MISMATCH\n");
  bare_puts("cpu: minstret ");
  bare_putdec(retired);
  bare_putchar('\n');
  return checksum == EXPECTED ? 0 : 1;
}
