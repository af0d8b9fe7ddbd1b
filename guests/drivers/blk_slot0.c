/*
 * A bare-metal M-mode virtio-blk driver written the way teaching kernels for
 * QEMU's `virt` write theirs (xv6's virtio_disk.c is the model): the disk must
 * be in the first virtio-mmio slot (0x1000_1000, PLIC source 1), the driver
 * accepts only the low 32 feature bits (never VIRTIO_F_VERSION_1) and expects
 * FEATURES_OK to stick, as it does on QEMU 7.2's modern transport. QEMU:
 *   -global virtio-mmio.force-legacy=false
 *   -drive file=F,if=none,format=raw,id=x0
 *   -device virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0
 * rvisor: --disk F,slot=0.
 *
 * It checks that slot 0 holds the disk and slots 1..7 are empty, reads sector 1
 * and checks the pattern the test put there (byte i of sector s is
 * (s * 31 + i) & 0xff), writes sector 2 (WRITE_TAG then bytes 0xa5 ^ i) and
 * reads it back. Every request completes through the PLIC: source 1 is enabled
 * for context 0 (hart 0 M-mode), mip.MEIP is polled, the claim must name
 * source 1, and the transport's interrupt is acknowledged. The result goes to
 * the syscon through crt0.S: exit 0 on success, else the number of the check
 * that failed (printed too).
 */
#include <stdint.h>

#include "bare.h"

#define VIRTIO0 0x10001000UL
#define VIRTIO_STRIDE 0x1000UL
#define VIRTIO_SLOTS 8
#define VIRTIO0_IRQ 1

/* virtio 1.1 section 4.2.2 */
#define MMIO_MAGIC 0x000
#define MMIO_VERSION 0x004
#define MMIO_DEVICE_ID 0x008
#define MMIO_DEVICE_FEATURES 0x010
#define MMIO_DRIVER_FEATURES 0x020
#define MMIO_QUEUE_SEL 0x030
#define MMIO_QUEUE_NUM_MAX 0x034
#define MMIO_QUEUE_NUM 0x038
#define MMIO_QUEUE_READY 0x044
#define MMIO_QUEUE_NOTIFY 0x050
#define MMIO_INTERRUPT_STATUS 0x060
#define MMIO_INTERRUPT_ACK 0x064
#define MMIO_STATUS 0x070
#define MMIO_QUEUE_DESC_LOW 0x080
#define MMIO_QUEUE_DESC_HIGH 0x084
#define MMIO_QUEUE_DRIVER_LOW 0x090
#define MMIO_QUEUE_DRIVER_HIGH 0x094
#define MMIO_QUEUE_DEVICE_LOW 0x0a0
#define MMIO_QUEUE_DEVICE_HIGH 0x0a4

#define STATUS_ACKNOWLEDGE 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8

/* Feature bits xv6 turns off before accepting the rest of the low word. */
#define BLK_F_RO 5
#define BLK_F_SCSI 7
#define BLK_F_CONFIG_WCE 11
#define BLK_F_MQ 12
#define F_ANY_LAYOUT 27
#define RING_F_INDIRECT_DESC 28
#define RING_F_EVENT_IDX 29

#define BLK_T_IN 0
#define BLK_T_OUT 1

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2

#define PLIC 0x0c000000UL
#define PLIC_PRIORITY(src) (PLIC + 4 * (src))
#define PLIC_ENABLE_CTX0 (PLIC + 0x2000)
#define PLIC_THRESHOLD_CTX0 (PLIC + 0x200000)
#define PLIC_CLAIM_CTX0 (PLIC + 0x200004)
#define MIP_MEIP (1UL << 11)

#define QUEUE_SIZE 8
#define SECTOR 512
#define WRITE_TAG "rvisor virtio slot 0 write"
#define SPIN_LIMIT 100000000UL

struct virtq_desc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};

struct virtq_avail {
  uint16_t flags;
  uint16_t idx;
  uint16_t ring[QUEUE_SIZE];
};

struct virtq_used_elem {
  uint32_t id;
  uint32_t len;
};

struct virtq_used {
  uint16_t flags;
  uint16_t idx;
  struct virtq_used_elem ring[QUEUE_SIZE];
};

struct blk_req {
  uint32_t type;
  uint32_t reserved;
  uint64_t sector;
};

static struct virtq_desc desc[QUEUE_SIZE] __attribute__((aligned(4096)));
static struct virtq_avail avail __attribute__((aligned(4096)));
static struct virtq_used used __attribute__((aligned(4096)));
static struct blk_req req;
static uint8_t data[SECTOR] __attribute__((aligned(16)));
static volatile uint8_t req_status;
static uint16_t used_seen;

static inline uint32_t rd(unsigned long base, unsigned off) {
  return *(volatile uint32_t *)(base + off);
}

static inline void wr(unsigned long base, unsigned off, uint32_t v) {
  *(volatile uint32_t *)(base + off) = v;
}

static inline unsigned long read_mip(void) {
  unsigned long v;
  __asm__ volatile("csrr %0, mip" : "=r"(v));
  return v;
}

static int fail(int check, const char *what) {
  bare_puts("blk_slot0: FAIL ");
  bare_putdec((uint64_t)check);
  bare_puts(": ");
  bare_puts(what);
  bare_puts("\n");
  return check;
}

/* One request (header, one sector of data, status) through queue 0; 0 on success. */
static int request(uint32_t type, uint64_t sector) {
  req.type = type;
  req.reserved = 0;
  req.sector = sector;
  req_status = 0xff;
  desc[0] = (struct virtq_desc){(uint64_t)(uintptr_t)&req, sizeof req, VRING_DESC_F_NEXT, 1};
  desc[1] = (struct virtq_desc){(uint64_t)(uintptr_t)data, SECTOR,
                                (uint16_t)(VRING_DESC_F_NEXT | (type == BLK_T_IN ? VRING_DESC_F_WRITE : 0)),
                                2};
  desc[2] = (struct virtq_desc){(uint64_t)(uintptr_t)&req_status, 1, VRING_DESC_F_WRITE, 0};
  avail.ring[avail.idx % QUEUE_SIZE] = 0;
  __sync_synchronize();
  avail.idx++;
  __sync_synchronize();
  wr(VIRTIO0, MMIO_QUEUE_NOTIFY, 0);

  unsigned long spins = 0;
  while ((read_mip() & MIP_MEIP) == 0) {
    if (++spins == SPIN_LIMIT) return fail(20, "no external interrupt");
  }
  uint32_t claim = *(volatile uint32_t *)PLIC_CLAIM_CTX0;
  if (claim != VIRTIO0_IRQ) return fail(21, "PLIC claim is not source 1");
  if ((rd(VIRTIO0, MMIO_INTERRUPT_STATUS) & 1) == 0) return fail(22, "no used-buffer interrupt");
  wr(VIRTIO0, MMIO_INTERRUPT_ACK, rd(VIRTIO0, MMIO_INTERRUPT_STATUS));
  *(volatile uint32_t *)PLIC_CLAIM_CTX0 = claim;
  __sync_synchronize();
  if (*(volatile uint16_t *)&used.idx != (uint16_t)(used_seen + 1)) return fail(23, "used ring");
  used_seen++;
  if (used.ring[(used_seen - 1) % QUEUE_SIZE].id != 0) return fail(24, "used id");
  if (req_status != 0) return fail(25, "request status not OK");
  return 0;
}

int main(void) {
  if (rd(VIRTIO0, MMIO_MAGIC) != 0x74726976) return fail(1, "no virtio-mmio magic at slot 0");
  if (rd(VIRTIO0, MMIO_VERSION) != 2) return fail(2, "slot 0 is not a modern (version 2) transport");
  if (rd(VIRTIO0, MMIO_DEVICE_ID) != 2) return fail(3, "slot 0 holds no block device");
  for (int i = 1; i < VIRTIO_SLOTS; i++) {
    if (rd(VIRTIO0 + i * VIRTIO_STRIDE, MMIO_DEVICE_ID) != 0) return fail(4, "another slot holds a device");
  }

  uint32_t status = 0;
  wr(VIRTIO0, MMIO_STATUS, status);
  status |= STATUS_ACKNOWLEDGE;
  wr(VIRTIO0, MMIO_STATUS, status);
  status |= STATUS_DRIVER;
  wr(VIRTIO0, MMIO_STATUS, status);
  /* Only the low word, as xv6: DeviceFeaturesSel and DriverFeaturesSel stay 0. */
  uint32_t features = rd(VIRTIO0, MMIO_DEVICE_FEATURES);
  features &= ~((1u << BLK_F_RO) | (1u << BLK_F_SCSI) | (1u << BLK_F_CONFIG_WCE) | (1u << BLK_F_MQ) |
                (1u << F_ANY_LAYOUT) | (1u << RING_F_EVENT_IDX) | (1u << RING_F_INDIRECT_DESC));
  wr(VIRTIO0, MMIO_DRIVER_FEATURES, features);
  status |= STATUS_FEATURES_OK;
  wr(VIRTIO0, MMIO_STATUS, status);
  if ((rd(VIRTIO0, MMIO_STATUS) & STATUS_FEATURES_OK) == 0) return fail(5, "FEATURES_OK refused");

  wr(VIRTIO0, MMIO_QUEUE_SEL, 0);
  if (rd(VIRTIO0, MMIO_QUEUE_READY) != 0) return fail(6, "queue 0 already ready");
  if (rd(VIRTIO0, MMIO_QUEUE_NUM_MAX) < QUEUE_SIZE) return fail(7, "queue 0 too short");
  wr(VIRTIO0, MMIO_QUEUE_NUM, QUEUE_SIZE);
  wr(VIRTIO0, MMIO_QUEUE_DESC_LOW, (uint32_t)(uintptr_t)desc);
  wr(VIRTIO0, MMIO_QUEUE_DESC_HIGH, (uint32_t)((uintptr_t)desc >> 32));
  wr(VIRTIO0, MMIO_QUEUE_DRIVER_LOW, (uint32_t)(uintptr_t)&avail);
  wr(VIRTIO0, MMIO_QUEUE_DRIVER_HIGH, (uint32_t)((uintptr_t)&avail >> 32));
  wr(VIRTIO0, MMIO_QUEUE_DEVICE_LOW, (uint32_t)(uintptr_t)&used);
  wr(VIRTIO0, MMIO_QUEUE_DEVICE_HIGH, (uint32_t)((uintptr_t)&used >> 32));
  wr(VIRTIO0, MMIO_QUEUE_READY, 1);
  status |= STATUS_DRIVER_OK;
  wr(VIRTIO0, MMIO_STATUS, status);

  /* PLIC source 1 to hart 0's M-mode context; interrupts stay globally off (mip is polled). */
  *(volatile uint32_t *)PLIC_PRIORITY(VIRTIO0_IRQ) = 1;
  *(volatile uint32_t *)PLIC_ENABLE_CTX0 = 1u << VIRTIO0_IRQ;
  *(volatile uint32_t *)PLIC_THRESHOLD_CTX0 = 0;

  int r = request(BLK_T_IN, 1);
  if (r) return r;
  for (int i = 0; i < SECTOR; i++) {
    if (data[i] != (uint8_t)(31 + i)) return fail(8, "sector 1 does not hold the test pattern");
  }

  const char *tag = WRITE_TAG;
  int n = 0;
  for (; tag[n]; n++) data[n] = (uint8_t)tag[n];
  for (int i = n; i < SECTOR; i++) data[i] = (uint8_t)(0xa5 ^ i);
  r = request(BLK_T_OUT, 2);
  if (r) return r;
  for (int i = 0; i < SECTOR; i++) data[i] = 0;
  r = request(BLK_T_IN, 2);
  if (r) return r;
  for (int i = 0; i < SECTOR; i++) {
    uint8_t want = i < n ? (uint8_t)tag[i] : (uint8_t)(0xa5 ^ i);
    if (data[i] != want) return fail(9, "sector 2 did not read back as written");
  }
  bare_puts("blk_slot0: read sector 1, wrote and read back sector 2: pass\n");
  return 0;
}
